using System.Buffers.Binary;
using System.Text;
using Google.Protobuf;
using Larder.V1;
using Microsoft.Extensions.Caching.Distributed;

namespace Larder.Client;

/// <summary>
/// <see cref="IDistributedCache"/> over Larder, for ASP.NET Core session
/// state, output caching and anything else written against that interface:
/// <code>
/// services.AddSingleton&lt;IDistributedCache&gt;(new LarderDistributedCache(new LarderOptions { Url = "http://larder:8080", Namespace = "web" }));
/// </code>
/// Entries are binary values: the caller's bytes after a 20-byte header that
/// holds the sliding window and the absolute expiry, which
/// <see cref="IDistributedCache.Get"/> needs but the server does not keep.
/// Use <see cref="LarderCache"/> directly for data other SDKs read.
/// </summary>
/// <remarks>
/// Entries without any expiration option get the namespace's default TTL
/// (3600 s unless configured), not "never": Larder refuses to keep entries
/// forever unless asked explicitly. A read of an entry with sliding
/// expiration takes two round trips: one to read, one to reset the TTL
/// (Get with touch), capped by the absolute expiry.
/// </remarks>
public sealed class LarderDistributedCache : IDistributedCache, IDisposable
{
    private readonly LarderCache _cache;
    private readonly bool _ownsCache;

    /// <summary>Creates an adapter over an existing cache, which the caller keeps owning.</summary>
    /// <param name="cache">The cache.</param>
    public LarderDistributedCache(LarderCache cache)
    {
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
    }

    /// <summary>Creates an adapter with its own <see cref="LarderCache"/>, disposed with the adapter.</summary>
    /// <param name="options">Where the server is and how to talk to it.</param>
    public LarderDistributedCache(LarderOptions options)
    {
        _cache = new LarderCache(options);
        _ownsCache = true;
    }

    /// <inheritdoc />
    public byte[]? Get(string key) => GetAsync(key).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task<byte[]?> GetAsync(string key, CancellationToken token = default) => Read(key, true, token);

    /// <inheritdoc />
    public void Refresh(string key) => RefreshAsync(key).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task RefreshAsync(string key, CancellationToken token = default) => Read(key, false, token);

    /// <inheritdoc />
    public void Remove(string key) => RemoveAsync(key).GetAwaiter().GetResult();

    /// <inheritdoc />
    public Task RemoveAsync(string key, CancellationToken token = default) => _cache.Delete(key, token);

    /// <inheritdoc />
    public void Set(string key, byte[] value, DistributedCacheEntryOptions options) => SetAsync(key, value, options).GetAwaiter().GetResult();

    /// <inheritdoc />
    public async Task SetAsync(string key, byte[] value, DistributedCacheEntryOptions options, CancellationToken token = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(options);
        var now = DateTimeOffset.UtcNow;
        // With both set, the relative one wins, as in Microsoft's Redis and SQL Server caches.
        var absolute = options.AbsoluteExpirationRelativeToNow is { } relative ? now + relative : options.AbsoluteExpiration;
        if (absolute <= now)
        {
            // The same check and message as Microsoft's own implementations.
            throw new ArgumentOutOfRangeException(nameof(options), absolute, "The absolute expiration value must be in the future.");
        }
        var sliding = options.SlidingExpiration;
        TimeSpan? ttl = (sliding, absolute) switch
        {
            ({ } s, { } a) => s < a - now ? s : a - now,
            ({ } s, null) => s,
            (null, { } a) => a - now,
            _ => null,
        };
        var envelope = Envelope.Wrap(value, sliding, absolute);
        await _cache.Write(key, new Value { Binary = ByteString.CopyFrom(envelope) }, new SetOptions { Ttl = ttl }, token).ConfigureAwait(false);
    }

    /// <summary>Disposes the cache if the adapter created it.</summary>
    public void Dispose()
    {
        if (_ownsCache)
        {
            _cache.Dispose();
        }
    }

    /// <summary>Reads an entry and, if it has sliding expiration, resets its TTL.</summary>
    private async Task<byte[]?> Read(string key, bool wantValue, CancellationToken ct)
    {
        var res = await _cache.Read(key, null, ct).ConfigureAwait(false);
        if (!res.Found)
        {
            return null;
        }
        if (!Envelope.TryUnwrap(res.Value, out var sliding, out var absolute, out var payload))
        {
            // Not written by this adapter: hand out the bytes as stored (JSON as UTF-8).
            return wantValue ? Raw(res.Value) : null;
        }
        var now = DateTimeOffset.UtcNow;
        if (absolute <= now)
        {
            // Only clock skew gets here: the server's TTL never outlives the absolute expiry.
            return null;
        }
        if (sliding is { } s)
        {
            var touch = absolute is { } a && a - now < s ? a - now : s;
            await _cache.Read(key, touch, ct).ConfigureAwait(false);
        }
        return wantValue ? payload : null;
    }

    private static byte[] Raw(Value value) => value.KindCase == Value.KindOneofCase.Binary
        ? value.Binary.ToByteArray()
        : Encoding.UTF8.GetBytes(value.Json);

    /// <summary>
    /// The header: "LDC", a format version (1), the sliding window and the
    /// absolute expiry (Unix ms), both little-endian int64 with 0 for none.
    /// </summary>
    internal static class Envelope
    {
        private static ReadOnlySpan<byte> Magic => "LDC\u0001"u8;

        public const int HeaderSize = 20;

        public static byte[] Wrap(byte[] payload, TimeSpan? sliding, DateTimeOffset? absolute)
        {
            var bytes = new byte[HeaderSize + payload.Length];
            Magic.CopyTo(bytes);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(4), sliding is { } s ? Math.Max(1, (long)s.TotalMilliseconds) : 0);
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(12), absolute?.ToUnixTimeMilliseconds() ?? 0);
            payload.CopyTo(bytes, HeaderSize);
            return bytes;
        }

        public static bool TryUnwrap(Value? value, out TimeSpan? sliding, out DateTimeOffset? absolute, out byte[] payload)
        {
            sliding = null;
            absolute = null;
            payload = [];
            if (value?.KindCase != Value.KindOneofCase.Binary || value.Binary.Length < HeaderSize)
            {
                return false;
            }
            var span = value.Binary.Span;
            if (!span[..4].SequenceEqual(Magic))
            {
                return false;
            }
            var slidingMs = BinaryPrimitives.ReadInt64LittleEndian(span[4..]);
            var absoluteMs = BinaryPrimitives.ReadInt64LittleEndian(span[12..]);
            sliding = slidingMs > 0 ? TimeSpan.FromMilliseconds(slidingMs) : null;
            absolute = absoluteMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(absoluteMs) : null;
            payload = span[HeaderSize..].ToArray();
            return true;
        }
    }
}
