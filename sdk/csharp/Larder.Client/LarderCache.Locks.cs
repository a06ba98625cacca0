using Larder.V1;

namespace Larder.Client;

public sealed partial class LarderCache
{
    // The process, not the cache instance: what an operator looking at
    // ListLocks needs in order to find the holder.
    private static readonly string DefaultOwner = $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>
    /// Acquires a named lock, waiting up to <see cref="LockOptions.Wait"/> for it.
    /// Use with <c>await using</c> to release it at the end of the block:
    /// <code>
    /// await using var l = await cache.Lock("orders", new LockOptions { Ttl = TimeSpan.FromSeconds(30) });
    /// </code>
    /// Never retried: a grant whose answer was lost would be held by nobody
    /// until its TTL, and a retry would wait a second time.
    /// </summary>
    /// <param name="name">1 to 1024 UTF-8 bytes, like a key; locks and keys are separate.</param>
    /// <param name="options">TTL, wait, owner label and renewal; null for the defaults.</param>
    /// <param name="ct">Cancels the call, also while waiting.</param>
    /// <returns>The held lock.</returns>
    /// <exception cref="LarderLockNotAcquiredException">The lock was still busy after the wait; carries the holder.</exception>
    public async Task<LarderLock> Lock(string name, LockOptions? options = null, CancellationToken ct = default)
    {
        var (granted, holder) = await Acquire(name, options, ct).ConfigureAwait(false);
        return granted ?? throw new LarderLockNotAcquiredException(name, holder);
    }

    /// <summary>Like <see cref="Lock"/>, but returns null instead of throwing when the lock stays busy.</summary>
    /// <param name="name">The lock's name.</param>
    /// <param name="options">TTL, wait, owner label and renewal; null for the defaults.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The held lock, or null.</returns>
    public async Task<LarderLock?> TryLock(string name, LockOptions? options = null, CancellationToken ct = default)
    {
        var (granted, _) = await Acquire(name, options, ct).ConfigureAwait(false);
        return granted;
    }

    /// <summary>Whether a lock is free now, or becomes free within <paramref name="wait"/> (answered as soon as it does). Takes nothing.</summary>
    /// <param name="name">The lock's name.</param>
    /// <param name="wait">How long to wait for it to free; null or zero for now.</param>
    /// <param name="ct">Cancels the call.</param>
    public async Task<bool> CheckLock(string name, TimeSpan? wait = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        var request = new CheckLockRequest { Name = name, WaitMs = WaitMs(wait) };
        var res = await Call(true, (c, o) => c.CheckLockAsync(request, o), ct, DeadlineWithWait(request.WaitMs)).ConfigureAwait(false);
        return res.Available;
    }

    /// <summary>Lists the live locks whose names match a glob, with holder and expiry, following every page.</summary>
    /// <param name="pattern">A glob as in <see cref="GetKeys"/>; null for all.</param>
    /// <param name="ct">Cancels the call.</param>
    public async Task<IReadOnlyList<LarderLockInfo>> ListLocks(string? pattern = null, CancellationToken ct = default)
    {
        // Keyed by name: a lock re-granted between two pages may show up on both.
        var found = new Dictionary<string, LarderLockInfo>(StringComparer.Ordinal);
        var cursor = "";
        do
        {
            var request = new ListLocksRequest { Pattern = pattern ?? "", Cursor = cursor, Limit = 1000 };
            var page = await Call(true, (c, o) => c.ListLocksAsync(request, o), ct).ConfigureAwait(false);
            foreach (var l in page.Locks)
            {
                if (LockHolderInfo.From(l.Holder) is { } holder)
                {
                    found[l.Name] = new LarderLockInfo(l.Name, holder);
                }
            }
            cursor = page.NextCursor;
        }
        while (cursor.Length > 0);
        return [.. found.Values];
    }

    /// <summary>Writes a value only while <paramref name="guard"/> holds its lock (fencing); see <see cref="SetOptions.Lock"/>.</summary>
    /// <typeparam name="T">The value's type.</typeparam>
    /// <param name="key">The key.</param>
    /// <param name="value">Anything System.Text.Json can write, or a byte[].</param>
    /// <param name="ttl">Time to live; null for the namespace default.</param>
    /// <param name="guard">The lock that must still be held by this handle.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Whether the write was applied; false when the lock had expired or another holder had it.</returns>
    public Task<bool> Set<T>(string key, T value, TimeSpan? ttl, LarderLock guard, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(guard);
        return Set(key, value, new SetOptions { Ttl = ttl, Lock = guard }, ct);
    }

    /// <summary>One Lock call: the handle, or null with the holder that kept it busy.</summary>
    internal async Task<(LarderLock? Granted, LockHolderInfo? Holder)> Acquire(string name, LockOptions? options, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(name);
        options ??= new LockOptions();
        var request = new LockRequest
        {
            Name = name,
            TtlMs = options.Ttl is { } ttl ? ValueCodec.Milliseconds(ttl) : 0,
            WaitMs = WaitMs(options.Wait),
            Owner = options.Owner ?? DefaultOwner,
        };
        var res = await Call(false, (c, o) => c.LockAsync(request, o), ct, DeadlineWithWait(request.WaitMs)).ConfigureAwait(false);
        return res.Acquired
            ? (new LarderLock(this, name, res, options.Ttl, options.AutoRenew), null)
            : (null, LockHolderInfo.From(res.Holder));
    }

    private static long WaitMs(TimeSpan? wait) => wait is { } w && w != TimeSpan.Zero ? ValueCodec.Milliseconds(w) : 0;

    /// <summary>
    /// The deadline of a call the server may spend waiting: the usual one on
    /// top of the wait, so that a full wait still leaves time for the answer.
    /// </summary>
    private TimeSpan DeadlineWithWait(long waitMs) =>
        _timeout == Timeout.InfiniteTimeSpan ? _timeout : _timeout + TimeSpan.FromMilliseconds(Math.Max(0, waitMs));
}
