namespace Larder.Client;

public sealed partial class LarderCache
{
    private readonly ComputeFlights _compute;

    /// <summary>
    /// Get-or-compute: returns the cached value, or on a miss calls
    /// <paramref name="factory"/>, stores its result and returns it as a later
    /// read would (JSON round-tripped, so hit and miss return alike).
    /// Concurrent calls for one key in this process share a single read and a
    /// single factory call. Across processes, a miss takes the lock
    /// <c>larder:compute:&lt;key&gt;</c> (hashed when long) and reads again
    /// before computing; every other caller waits for that lock's release
    /// (up to <see cref="LarderOptions.ComputeLockWait"/>, then
    /// <see cref="LarderLockNotAcquiredException"/>) and reads the stored
    /// value. The lock lasts 5 s and is renewed while the factory runs, so if
    /// the computing process dies another takes over within 5 s. An API key
    /// without the "lock" permission still gets values, computed without the
    /// cross-process guarantee.
    /// </summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">
    /// Produces the value on a miss. Its token is cancelled only when every
    /// caller waiting for it has cancelled.
    /// </param>
    /// <param name="ttl">Time to live of a computed value; null for the namespace default.</param>
    /// <param name="ct">Stops this caller waiting.</param>
    public Task<T?> GetOrSet<T>(string key, Func<CancellationToken, Task<T>> factory, TimeSpan? ttl = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(factory);
        return _compute.Run(key, factory, ttl, ct);
    }

    /// <summary>Get-or-compute with a TTL in seconds; see <see cref="GetOrSet{T}(string, Func{CancellationToken, Task{T}}, TimeSpan?, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Produces the value on a miss.</param>
    /// <param name="ttlSeconds">Seconds to live of a computed value.</param>
    /// <param name="ct">Stops this caller waiting.</param>
    public Task<T?> GetOrSet<T>(string key, Func<CancellationToken, Task<T>> factory, double ttlSeconds, CancellationToken ct = default) =>
        GetOrSet(key, factory, ValueCodec.Seconds(ttlSeconds, "ttl"), ct);

    /// <summary>Get-or-compute with a factory that takes no token; see <see cref="GetOrSet{T}(string, Func{CancellationToken, Task{T}}, TimeSpan?, CancellationToken)"/>.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Produces the value on a miss.</param>
    /// <param name="ttl">Time to live of a computed value; null for the namespace default.</param>
    /// <param name="ct">Stops this caller waiting.</param>
    public Task<T?> GetOrSet<T>(string key, Func<Task<T>> factory, TimeSpan? ttl = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrSet(key, _ => factory(), ttl, ct);
    }

    /// <summary>Get-or-compute with a factory that takes no token and a TTL in seconds.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="factory">Produces the value on a miss.</param>
    /// <param name="ttlSeconds">Seconds to live of a computed value.</param>
    /// <param name="ct">Stops this caller waiting.</param>
    public Task<T?> GetOrSet<T>(string key, Func<Task<T>> factory, double ttlSeconds, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return GetOrSet(key, _ => factory(), ValueCodec.Seconds(ttlSeconds, "ttl"), ct);
    }
}

/// <summary>The steps a <see cref="IMissPolicy"/> can take for one missing key.</summary>
/// <typeparam name="T">The value's type.</typeparam>
/// <param name="Reread">Reads the key again (found, value), e.g. after waiting for another process.</param>
/// <param name="ComputeAndStore">Calls the caller's factory and stores its result.</param>
internal sealed record MissSteps<T>(
    Func<CancellationToken, Task<(bool Found, T? Value)>> Reread,
    Func<CancellationToken, Task<T?>> ComputeAndStore);

/// <summary>
/// What happens after a miss: the seam for stampede protection across
/// processes (SPEC §8; <see cref="LockMissPolicy"/>). In-process
/// deduplication happens before, so a policy sees one miss per key per
/// process at a time.
/// </summary>
internal interface IMissPolicy
{
    Task<T?> ResolveMiss<T>(string key, MissSteps<T> steps, CancellationToken ct);
}

/// <summary>Compute as soon as the key is missing: no protection across processes.</summary>
internal sealed class ComputeOnMiss : IMissPolicy
{
    public static readonly ComputeOnMiss Instance = new();

    public Task<T?> ResolveMiss<T>(string key, MissSteps<T> steps, CancellationToken ct) => steps.ComputeAndStore(ct);
}

/// <summary>
/// Get-or-compute flights: concurrent calls for one key (and type) share one
/// flight that covers the read as well as the computation. Sharing only the
/// computation would let a caller whose read was slow miss after the first
/// flight ended and compute a second time.
/// </summary>
internal sealed class ComputeFlights(LarderCache cache, IMissPolicy? policy = null)
{
    private readonly IMissPolicy _policy = policy ?? ComputeOnMiss.Instance;
    private readonly object _gate = new();
    private readonly Dictionary<(string Key, Type Type), Flight> _flights = new();

    /// <summary>How many flights are in progress; for tests.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _flights.Count;
            }
        }
    }

    public async Task<T?> Run<T>(string key, Func<CancellationToken, Task<T>> factory, TimeSpan? ttl, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var id = (key, typeof(T));
        Flight flight;
        bool lead;
        lock (_gate)
        {
            // A flight whose callers all left is cancelled: do not join it.
            lead = !_flights.TryGetValue(id, out flight!) || flight.Cancel.IsCancellationRequested;
            if (lead)
            {
                flight = new Flight();
                _flights[id] = flight;
            }
            flight.Waiters++;
        }
        if (lead)
        {
            _ = Lead(id, flight, token => Compute(key, factory, ttl, token));
        }
        try
        {
            return (T?)await flight.Result.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && !flight.Result.Task.IsCompleted)
        {
            // Here rather than in a ct.Register callback: WaitAsync's own
            // callback can complete this method (and dispose a registration)
            // before that callback would run.
            Leave(flight);
            throw;
        }
    }

    private async Task<T?> Compute<T>(string key, Func<CancellationToken, Task<T>> factory, TimeSpan? ttl, CancellationToken ct)
    {
        var hit = await Read<T>(key, ct).ConfigureAwait(false);
        if (hit.Found)
        {
            return hit.Value;
        }
        return await _policy.ResolveMiss(key, new MissSteps<T>(
            token => Read<T>(key, token),
            async token =>
            {
                var encoded = cache.EncodeValue(await factory(token).ConfigureAwait(false), "factory()");
                await cache.Write(key, encoded, new SetOptions { Ttl = ttl }, token).ConfigureAwait(false);
                return cache.DecodeValue<T>(encoded, key);
            }), ct).ConfigureAwait(false);
    }

    private async Task<(bool Found, T? Value)> Read<T>(string key, CancellationToken ct)
    {
        var res = await cache.Read(key, null, ct).ConfigureAwait(false);
        return res.Found ? (true, cache.DecodeValue<T>(res.Value, key)) : (false, default);
    }

    private async Task Lead<T>((string, Type) id, Flight flight, Func<CancellationToken, Task<T>> work)
    {
        object? value = null;
        Exception? error = null;
        try
        {
            value = await work(flight.Cancel.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            error = e;
        }
        // Removed before completing, so that a caller arriving afterwards
        // starts a fresh flight instead of joining one that is over.
        lock (_gate)
        {
            if (_flights.TryGetValue(id, out var current) && current == flight)
            {
                _flights.Remove(id);
            }
        }
        if (error is OperationCanceledException && flight.Cancel.IsCancellationRequested)
        {
            flight.Result.TrySetCanceled(flight.Cancel.Token);
        }
        else if (error is not null)
        {
            flight.Result.TrySetException(error);
        }
        else
        {
            flight.Result.TrySetResult(value);
        }
    }

    /// <summary>A caller cancelled; the last one to leave cancels the work.</summary>
    private void Leave(Flight flight)
    {
        bool last;
        lock (_gate)
        {
            last = --flight.Waiters == 0;
        }
        if (last)
        {
            flight.Cancel.Cancel();
        }
    }

    // The token source never gets a timer, so disposing it would release
    // nothing, and would make a late Leave() throw ObjectDisposedException.
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "No timer to release; see above.")]
    private sealed class Flight
    {
        public readonly TaskCompletionSource<object?> Result = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public readonly CancellationTokenSource Cancel = new();
        public int Waiters;
    }
}
