using Larder.V1;

namespace Larder.Client;

/// <summary>Options of <see cref="LarderCache.Lock"/> and <see cref="LarderCache.TryLock"/>.</summary>
public sealed class LockOptions
{
    /// <summary>How long the grant lasts unless renewed. Null: the server's lock duration, 30 s unless configured.</summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>How long to wait for a busy lock. Null or zero: try once. At most the server's limit, 60 s unless configured.</summary>
    public TimeSpan? Wait { get; set; }

    /// <summary>A label for the holder, shown to others by <see cref="LarderCache.ListLocks"/> and in <see cref="LarderLockNotAcquiredException"/>. Default <c>&lt;machine&gt;:&lt;pid&gt;</c>.</summary>
    public string? Owner { get; set; }

    /// <summary>
    /// Renew the lock every third of its TTL until it is released, so that a
    /// long critical section keeps it while a crashed process loses it
    /// within one TTL. Release or dispose the lock when done: until then the
    /// renewal keeps it. Default false.
    /// </summary>
    public bool AutoRenew { get; set; }
}

/// <summary>Who holds a lock.</summary>
/// <param name="Owner">The holder's owner label (not its secret token).</param>
/// <param name="ExpiresAt">When the holder's grant expires unless renewed.</param>
/// <param name="FencingToken">The fencing token of the holder's grant.</param>
public sealed record LockHolderInfo(string Owner, DateTimeOffset ExpiresAt, long FencingToken)
{
    /// <summary>The holder of a wire answer; null when unset.</summary>
    internal static LockHolderInfo? From(LockHolder? holder) => holder is null
        ? null
        : new(holder.Owner, holder.ExpiresAt?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch, holder.FencingToken);
}

/// <summary>One live lock, as <see cref="LarderCache.ListLocks"/> lists it.</summary>
/// <param name="Name">The lock's name.</param>
/// <param name="Holder">Who holds it.</param>
public sealed record LarderLockInfo(string Name, LockHolderInfo Holder);

/// <summary>
/// A held lock. Release it with <see cref="ReleaseAsync"/>, or let
/// <c>await using</c> release it at the end of the block:
/// <code>
/// await using var l = await cache.Lock("orders", new LockOptions { Ttl = TimeSpan.FromSeconds(30) });
/// await cache.Set("report", data, TimeSpan.FromHours(1), guard: l); // false once another holder took over
/// </code>
/// </summary>
public sealed class LarderLock : IAsyncDisposable
{
    private readonly LarderCache _cache;
    private readonly TimeSpan? _ttl;
    private readonly TimeSpan _renewEvery;
    // No timers on either source (no CancelAfter), so there is nothing to
    // dispose, and a caller may keep using LostToken after release.
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopRenewal = new();
    private long _expiresAtMs;
    private int _releasing;
    private volatile bool _released;

    internal LarderLock(LarderCache cache, string name, LockResponse granted, TimeSpan? ttl, bool autoRenew)
    {
        _cache = cache;
        Name = name;
        Token = granted.Token;
        FencingToken = granted.FencingToken;
        _expiresAtMs = (granted.ExpiresAt?.ToDateTimeOffset() ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds();
        _ttl = ttl is { } t && t > TimeSpan.Zero ? t : null;
        // A third of the TTL leaves two more tries before expiry if one
        // fails. Without an explicit TTL, the grant's own length stands in.
        var length = _ttl ?? TimeSpan.FromMilliseconds(Math.Max(1000, _expiresAtMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        _renewEvery = length / 3;
        if (autoRenew)
        {
            _ = Renew();
        }
    }

    /// <summary>The lock's name.</summary>
    public string Name { get; }

    /// <summary>The secret owner token: the proof of ownership for release, extend and guarded writes.</summary>
    public string Token { get; }

    /// <summary>
    /// Rises with every grant of this name and never repeats. Pass it to
    /// storage that can refuse writes carrying an older token (fencing).
    /// </summary>
    public long FencingToken { get; }

    /// <summary>When the grant expires unless renewed; moves with <see cref="ExtendAsync"/> and AutoRenew.</summary>
    public DateTimeOffset ExpiresAt => DateTimeOffset.FromUnixTimeMilliseconds(Interlocked.Read(ref _expiresAtMs));

    /// <summary>
    /// Cancelled when this handle learns that it lost the lock (an extension
    /// found it expired or held by another), so that work under the lock can stop.
    /// </summary>
    public CancellationToken LostToken => _lost.Token;

    /// <summary>Releases the lock and stops any renewal. Retried on Unavailable: a repeat finds it released, which is what was asked.</summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>True if this call released it; false if it had expired, another holder had it, or it was released before.</returns>
    public async Task<bool> ReleaseAsync(CancellationToken ct = default)
    {
        if (_released)
        {
            return false;
        }
        Interlocked.Exchange(ref _releasing, 1);
        await _stopRenewal.CancelAsync().ConfigureAwait(false);
        var request = new UnlockRequest { Name = Name, Token = Token };
        var res = await _cache.Call(true, (c, o) => c.UnlockAsync(request, o), ct).ConfigureAwait(false);
        // Only an answer ends the handle: a release that failed may be tried again.
        _released = true;
        return res.Status == UnlockStatus.Released;
    }

    /// <summary>Sets the expiry to <paramref name="ttl"/> from now.</summary>
    /// <param name="ttl">The new time to live; null for the TTL the lock was taken with.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The new expiry.</returns>
    /// <exception cref="LarderException"><see cref="StatusCode.FailedPrecondition"/> when the lock is no longer held by this handle.</exception>
    public async Task<DateTimeOffset> ExtendAsync(TimeSpan? ttl = null, CancellationToken ct = default)
    {
        var request = new ExtendLockRequest { Name = Name, Token = Token, TtlMs = ttl is { } t ? ValueCodec.Milliseconds(t) : _ttl is { } d ? ValueCodec.Milliseconds(d) : 0 };
        var res = await _cache.Call(true, (c, o) => c.ExtendLockAsync(request, o), ct).ConfigureAwait(false);
        if (res.Status != ExtendLockStatus.Extended)
        {
            var why = res.Status == ExtendLockStatus.HeldByOther ? "another holder has it" : "it expired";
            await MarkLost().ConfigureAwait(false);
            throw new LarderException(StatusCode.FailedPrecondition, $"extend: lock \"{Name}\" is no longer held by this handle: {why}");
        }
        var next = res.ExpiresAt?.ToDateTimeOffset().ToUnixTimeMilliseconds() ?? Interlocked.Read(ref _expiresAtMs);
        Interlocked.Exchange(ref _expiresAtMs, next);
        return DateTimeOffset.FromUnixTimeMilliseconds(next);
    }

    /// <summary>
    /// Releases like <see cref="ReleaseAsync"/>, but never throws: an
    /// unreachable server leaves the lock to its TTL, and an exception here
    /// would hide the one of the block that <c>await using</c> closes.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReleaseAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Swallowing is this method's contract; see the summary.
        catch (Exception)
#pragma warning restore CA1031
        {
            await _stopRenewal.CancelAsync().ConfigureAwait(false);
        }
    }

    private async Task Renew()
    {
        var stop = _stopRenewal.Token;
        while (!stop.IsCancellationRequested && !_lost.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_renewEvery, stop).ConfigureAwait(false);
                await ExtendAsync(null, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                // The cache was disposed under a held lock: nothing can renew
                // it any more, and the lock expires within its TTL.
                return;
            }
#pragma warning disable CA1031 // A transient failure tries again at the next third; a loss ends the loop through _lost.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    private async Task MarkLost()
    {
        await _stopRenewal.CancelAsync().ConfigureAwait(false);
        // After a release, "not held" is the expected state, not a loss.
        if (Volatile.Read(ref _releasing) == 0)
        {
            await _lost.CancelAsync().ConfigureAwait(false);
        }
    }
}
