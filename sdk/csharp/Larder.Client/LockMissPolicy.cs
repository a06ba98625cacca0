using System.Security.Cryptography;
using System.Text;

namespace Larder.Client;

/// <summary>
/// Stampede protection across processes (SPEC §8), the same algorithm and
/// defaults as the TypeScript SDK's LockMissPolicy: on a miss, the caller
/// that gets the key's compute lock reads again (another may have just
/// stored it), computes only if still missing, stores, and unlocks. The
/// others wait for the lock to be free (CheckLock, woken by the release) and
/// read the stored value; they do not queue for the lock one by one. If the
/// computer failed or died (its lock expires after the lock TTL), a waiter
/// takes the lock and computes itself. Waiting is bounded by the lock wait,
/// after which a <see cref="LarderLockNotAcquiredException"/> names the holder.
///
/// A server that cannot lock for this caller (an API key without the "lock"
/// permission, or a server without locks) degrades to computing without
/// cross-process protection rather than failing every miss.
/// </summary>
internal sealed class LockMissPolicy(LarderCache cache, TimeSpan lockWait, TimeSpan? lockTtl = null) : IMissPolicy
{
    /// <summary>The prefix of compute locks, so that they read as such in ListLocks.</summary>
    public const string ComputeLockPrefix = "larder:compute:";

    /// <summary>
    /// Renewed while the factory runs, so this is only how soon another
    /// caller takes over from one that died.
    /// </summary>
    public static readonly TimeSpan DefaultLockTtl = TimeSpan.FromSeconds(5);

    /// <summary>Longer keys are hashed into the lock name, which must stay within the server's key size limit.</summary>
    private const int MaxLiteralKeyBytes = 200;

    /// <summary>The longest single CheckLock wait, well under the server's default maximum (60 s).</summary>
    private static readonly TimeSpan MaxCheckWait = TimeSpan.FromSeconds(30);

    private readonly TimeSpan _lockTtl = lockTtl ?? DefaultLockTtl;

    /// <summary>The lock that serializes computations of <paramref name="key"/> across processes; the same name as the TypeScript SDK's.</summary>
    public static string ComputeLockName(string key)
    {
        if (Encoding.UTF8.GetByteCount(key) <= MaxLiteralKeyBytes)
        {
            return ComputeLockPrefix + key;
        }
        var digest = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(key)))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return $"{ComputeLockPrefix}sha256:{digest}";
    }

    public async Task<T?> ResolveMiss<T>(string key, MissSteps<T> steps, CancellationToken ct)
    {
        var name = ComputeLockName(key);
        var deadline = DateTimeOffset.UtcNow + lockWait;
        while (true)
        {
            LarderLock? granted;
            LockHolderInfo? holder;
            try
            {
                // The default owner label (machine:pid) tells an operator which process computes.
                (granted, holder) = await cache.Acquire(name, new LockOptions { Ttl = _lockTtl, AutoRenew = true }, ct).ConfigureAwait(false);
            }
            catch (LarderException e) when (e.StatusCode is StatusCode.PermissionDenied or StatusCode.Unimplemented)
            {
                return await steps.ComputeAndStore(ct).ConfigureAwait(false);
            }
            if (granted is not null)
            {
                // Disposing never throws: if the release cannot reach the
                // server, the lock expires within its TTL, and the value (or
                // the factory's exception) stands.
                await using (granted.ConfigureAwait(false))
                {
                    var again = await steps.Reread(ct).ConfigureAwait(false);
                    return again.Found ? again.Value : await steps.ComputeAndStore(ct).ConfigureAwait(false);
                }
            }
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new LarderLockNotAcquiredException(name, holder,
                    $"GetOrSet: waited {lockWait.TotalSeconds} s for another caller computing \"{key}\"{LarderLockNotAcquiredException.Describe(holder)}; raise LarderOptions.ComputeLockWait if the factory takes longer");
            }
            await cache.CheckLock(name, left < MaxCheckWait ? left : MaxCheckWait, ct).ConfigureAwait(false);
            var after = await steps.Reread(ct).ConfigureAwait(false);
            if (after.Found)
            {
                return after.Value;
            }
        }
    }
}
