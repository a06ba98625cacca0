using System.Text.Encodings.Web;
using System.Text.Json;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Larder.V1;

namespace Larder.Client;

/// <summary>
/// A Larder cache, bound to one server and one namespace. Create one per
/// server and share it (it is thread-safe and pools its connections):
/// <code>
/// using var cache = new LarderCache(new LarderOptions { Url = "http://localhost:8080", Namespace = "orders" });
/// await cache.Set("greeting", "Hello!", TimeSpan.FromMinutes(1));
/// var greeting = await cache.Get&lt;string&gt;("greeting");
/// </code>
/// Values are JSON (System.Text.Json); a <c>byte[]</c> is stored as opaque
/// binary. Reads that miss return null (default), never throw. Failures
/// throw <see cref="LarderException"/>; cancelling a token throws
/// <see cref="OperationCanceledException"/>.
/// </summary>
public sealed partial class LarderCache : IDisposable
{
    /// <summary>
    /// Web defaults (camelCase, case-insensitive reads) plus relaxed escaping:
    /// the default encoder writes "+" as \u002B and "ö" as \u00F6, which is
    /// valid but unreadable in redis-cli and unlike what JSON.stringify writes.
    /// HTML-safety, the reason for that escaping, is no concern for a cache.
    /// </summary>
    internal static readonly JsonSerializerOptions DefaultJson = new(JsonSerializerDefaults.Web)
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly GrpcChannel _channel;
    private readonly JsonSerializerOptions _json;
    private readonly int _retries;
    private readonly TimeSpan _timeout;
    private volatile bool _disposed;

    /// <summary>Creates a cache client. No connection is made until the first call.</summary>
    /// <param name="options">Where the server is and how to talk to it.</param>
    /// <exception cref="ArgumentException">An option is missing or malformed.</exception>
    public LarderCache(LarderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Url must be an http:// or https:// URL such as http://localhost:8080, got \"{options.Url}\"", nameof(options));
        }
        if ((options.RootCertificate is not null || options.ClientCertificate is not null) && url.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"RootCertificate and ClientCertificate need an https:// Url, got \"{options.Url}\"", nameof(options));
        }
        if ((options.RootCertificate is not null || options.ClientCertificate is not null) && options.HttpClient is not null)
        {
            throw new ArgumentException("RootCertificate and ClientCertificate cannot be combined with HttpClient: set them on its handler", nameof(options));
        }
        if (options.Timeout <= TimeSpan.Zero && options.Timeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Timeout, "Timeout must be positive");
        }
        if (options.Retries < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Retries, "Retries must not be negative");
        }

        var headers = new Metadata();
        if (!string.IsNullOrEmpty(options.ApiKey))
        {
            // Plain metadata rather than CallCredentials, which gRPC sends
            // only over TLS: a server on a private network may run without.
            headers.Add("authorization", $"Bearer {options.ApiKey}");
        }
        if (!string.IsNullOrEmpty(options.Namespace))
        {
            headers.Add("larder-namespace", options.Namespace);
        }

        _json = options.JsonSerializerOptions ?? DefaultJson;
        _retries = options.Retries;
        _timeout = options.Timeout;
        _channel = CreateChannel(url, options);
        Client = new CacheService.CacheServiceClient(_channel.Intercept(new CallDefaults(headers, options.Timeout)));
        _compute = new ComputeFlights(this, new LockMissPolicy(this, options.ComputeLockWait));
    }

    /// <summary>
    /// The generated gRPC client (Grpc.Net.Client) this cache uses, with the
    /// same server, headers and default deadline, for RPCs the cache does
    /// not wrap. Its calls are not retried and throw <see cref="RpcException"/>.
    /// </summary>
    public CacheService.CacheServiceClient Client { get; }

    /// <summary>Writes a value.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">1 to 1024 UTF-8 bytes, taken literally.</param>
    /// <param name="value">Anything System.Text.Json can write, or a byte[].</param>
    /// <param name="ttl">Time to live; null for the namespace default (3600 s unless configured).</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the write was applied: always true without a condition.</returns>
    public Task<bool> Set<T>(string key, T value, TimeSpan? ttl = null, CancellationToken ct = default) =>
        Set(key, value, new SetOptions { Ttl = ttl }, ct);

    /// <summary>Writes a value with a TTL in seconds, as in the other Larder SDKs.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">Anything System.Text.Json can write, or a byte[].</param>
    /// <param name="ttlSeconds">Seconds to live, fractions allowed (millisecond precision).</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the write was applied: always true without a condition.</returns>
    public Task<bool> Set<T>(string key, T value, double ttlSeconds, CancellationToken ct = default) =>
        Set(key, value, new SetOptions { Ttl = ValueCodec.Seconds(ttlSeconds, "ttl") }, ct);

    /// <summary>Writes a value with the namespace's default TTL.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">Anything System.Text.Json can write, or a byte[].</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Always true.</returns>
    public Task<bool> Set<T>(string key, T value, CancellationToken ct) => Set(key, value, default(SetOptions), ct);

    /// <summary>Writes a value, optionally under a condition (see <see cref="SetOptions"/>).</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">Anything System.Text.Json can write, or a byte[].</param>
    /// <param name="options">TTL and condition.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the write was applied; false when its condition did not hold.</returns>
    public Task<bool> Set<T>(string key, T value, SetOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Write(key, ValueCodec.Encode(value, _json, "value"), options, ct);
    }

    /// <summary>Reads a value.</summary>
    /// <typeparam name="T">The type to read the value as; use a nullable value type (<c>int?</c>) to tell a miss from 0.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The value, or default (null) on a miss.</returns>
    public async Task<T?> Get<T>(string key, CancellationToken ct = default)
    {
        var res = await Read(key, null, ct).ConfigureAwait(false);
        return res.Found ? ValueCodec.Decode<T>(res.Value, _json, key) : default;
    }

    /// <summary>Reads a value and, on a hit, resets its expiry to <paramref name="touch"/> from now (sliding expiry).</summary>
    /// <typeparam name="T">The type to read the value as.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="touch">The new time to live.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The value, or default (null) on a miss.</returns>
    public async Task<T?> Get<T>(string key, TimeSpan touch, CancellationToken ct = default)
    {
        var res = await Read(key, touch, ct).ConfigureAwait(false);
        return res.Found ? ValueCodec.Decode<T>(res.Value, _json, key) : default;
    }

    /// <summary>Reads a value with its metadata (version, timestamps, expiry).</summary>
    /// <typeparam name="T">The type to read the value as.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The entry, or null on a miss.</returns>
    public Task<CacheEntry<T>?> GetEntry<T>(string key, CancellationToken ct = default) => ReadEntry<T>(key, null, ct);

    /// <summary>Reads a value with its metadata and resets its expiry to <paramref name="touch"/> from now.</summary>
    /// <typeparam name="T">The type to read the value as.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="touch">The new time to live.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The entry, or null on a miss.</returns>
    public Task<CacheEntry<T>?> GetEntry<T>(string key, TimeSpan touch, CancellationToken ct = default) => ReadEntry<T>(key, touch, ct);

    /// <summary>Tells whether a key exists, without transferring its value.</summary>
    /// <param name="key">The key.</param>
    /// <param name="ct">Cancels the call.</param>
    public async Task<bool> Exists(string key, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var res = await Call(true, (c, o) => c.HasAsync(new HasRequest { Key = key }, o), ct).ConfigureAwait(false);
        return res.Found;
    }

    /// <summary>Removes a key.</summary>
    /// <param name="key">The key.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the key existed.</returns>
    public async Task<bool> Delete(string key, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        // Deleting twice leaves the same state, so the call may be retried.
        var res = await Call(true, (c, o) => c.DeleteAsync(new DeleteRequest { Keys = { key } }, o), ct).ConfigureAwait(false);
        return res.Deleted > 0;
    }

    /// <summary>
    /// Adds time to a key's remaining TTL; an entry without expiry stays so.
    /// Not retried: a repeated attempt would add the time twice.
    /// </summary>
    /// <param name="key">The key.</param>
    /// <param name="by">The time to add.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the key existed.</returns>
    public async Task<bool> Extend(string key, TimeSpan by, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = new ExtendRequest { Key = key, AddMs = ValueCodec.Milliseconds(by) };
        var res = await Call(false, (c, o) => c.ExtendAsync(request, o), ct).ConfigureAwait(false);
        return res.Found;
    }

    /// <summary>Adds <paramref name="seconds"/> to a key's remaining TTL (seed: "extend by 5 minutes" is <c>Extend(key, 300)</c>).</summary>
    /// <param name="key">The key.</param>
    /// <param name="seconds">Seconds to add.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the key existed.</returns>
    public Task<bool> Extend(string key, double seconds, CancellationToken ct = default) =>
        Extend(key, ValueCodec.Seconds(seconds, "seconds"), ct);

    /// <summary>
    /// Atomically adds to an integer value, creating it (with <paramref name="ttl"/>)
    /// if absent; an existing key keeps its expiry. Not retried: a repeat would count twice.
    /// </summary>
    /// <param name="key">The key; its value must be a JSON integer.</param>
    /// <param name="delta">The amount to add, possibly negative.</param>
    /// <param name="ttl">Time to live if the key is created; null for the namespace default.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The value after the addition.</returns>
    public async Task<long> Increment(string key, long delta = 1, TimeSpan? ttl = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = new IncrementRequest { Key = key, Delta = delta };
        if (ttl is { } t)
        {
            request.TtlMs = ValueCodec.Milliseconds(t);
        }
        var res = await Call(false, (c, o) => c.IncrementAsync(request, o), ct).ConfigureAwait(false);
        return res.Value;
    }

    /// <summary>Atomically adds to an integer value, creating it with a TTL in seconds if absent.</summary>
    /// <param name="key">The key; its value must be a JSON integer.</param>
    /// <param name="delta">The amount to add, possibly negative.</param>
    /// <param name="ttlSeconds">Seconds to live if the key is created.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The value after the addition.</returns>
    public Task<long> Increment(string key, long delta, double ttlSeconds, CancellationToken ct = default) =>
        Increment(key, delta, ValueCodec.Seconds(ttlSeconds, "ttl"), ct);

    /// <summary>Closes the channel and its pooled connections (an HttpClient given in the options stays open). Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _channel.Dispose();
    }

    /// <summary>Encodes a value with this cache's JSON options.</summary>
    internal Value EncodeValue<T>(T value, string field) => ValueCodec.Encode(value, _json, field);

    /// <summary>Decodes a found value with this cache's JSON options.</summary>
    internal T? DecodeValue<T>(Value? value, string key) => ValueCodec.Decode<T>(value, _json, key);

    /// <summary>One Set of an encoded value; retried only when unconditional.</summary>
    internal async Task<bool> Write(string key, Value value, SetOptions options, CancellationToken ct)
    {
        var request = new SetRequest { Key = key, Value = value };
        if (options.NoExpiry && options.Ttl is not null)
        {
            throw LarderException.InvalidArgument("options", "give either Ttl or NoExpiry, not both");
        }
        if (options.NoExpiry)
        {
            request.NoExpiry = true;
        }
        else if (options.Ttl is { } ttl)
        {
            request.TtlMs = ValueCodec.Milliseconds(ttl);
        }
        var conditions = (options.OnlyIfAbsent ? 1 : 0) + (options.OnlyIfPresent ? 1 : 0) + (options.IfVersion is null ? 0 : 1);
        if (conditions > 1)
        {
            throw LarderException.InvalidArgument("options", "give at most one of OnlyIfAbsent, OnlyIfPresent and IfVersion");
        }
        request.Mode = options.OnlyIfAbsent ? SetMode.IfAbsent
            : options.OnlyIfPresent ? SetMode.IfPresent
            : options.IfVersion is not null ? SetMode.IfVersion
            : SetMode.Always;
        request.IfVersion = options.IfVersion ?? 0;
        if (options.Lock is { } held)
        {
            request.LockGuard = new LockGuard { Name = held.Name, Token = held.Token };
        }
        // A guarded write is not repeated, as in the TypeScript SDK: an
        // attempt whose answer was lost may have applied, and the repeat
        // would then report the outcome of a second write.
        var idempotent = request.Mode == SetMode.Always && options.Lock is null;
        var res = await Call(idempotent, (c, o) => c.SetAsync(request, o), ct).ConfigureAwait(false);
        return res.Applied;
    }

    /// <summary>One Get, with sliding expiry when <paramref name="touch"/> is given.</summary>
    internal Task<GetResponse> Read(string key, TimeSpan? touch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(key);
        var request = new GetRequest { Key = key };
        if (touch is { } t)
        {
            request.TouchTtlMs = ValueCodec.Milliseconds(t);
        }
        return Call(true, (c, o) => c.GetAsync(request, o), ct);
    }

    private async Task<CacheEntry<T>?> ReadEntry<T>(string key, TimeSpan? touch, CancellationToken ct)
    {
        var res = await Read(key, touch, ct).ConfigureAwait(false);
        return res.Found ? ValueCodec.Entry<T>(res.Value, res.Metadata, _json, key) : null;
    }
}
