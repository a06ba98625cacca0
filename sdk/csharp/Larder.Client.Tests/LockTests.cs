using System.Diagnostics;
using Larder.Client.Tests.Fixtures;
using Larder.V1;

namespace Larder.Client.Tests;

/// <summary>Locks: grants, releases, contention, expiry, fencing, renewal, guarded writes.</summary>
public abstract class LockTests(LarderFixture server)
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_grant_carries_token_fencing_token_and_expiry_and_releases_once()
    {
        using var cache = server.NewCache();
        var l = await cache.Lock("orders", new LockOptions { Ttl = Long });

        Assert.Equal("orders", l.Name);
        Assert.False(string.IsNullOrEmpty(l.Token));
        Assert.True(l.FencingToken > 0);
        Assert.InRange((l.ExpiresAt - DateTimeOffset.UtcNow).TotalSeconds, 28, 31);
        Assert.False(await cache.CheckLock("orders"));

        Assert.True(await l.ReleaseAsync());
        Assert.False(await l.ReleaseAsync());
        Assert.True(await cache.CheckLock("orders"));
    }

    [Fact]
    public async Task Unlock_answers_released_not_held_and_held_by_other()
    {
        using var cache = server.NewCache();
        var first = await cache.Client.LockAsync(new LockRequest { Name = "n", TtlMs = 30_000 });
        var other = await cache.Client.UnlockAsync(new UnlockRequest { Name = "n", Token = "not-the-token" });
        var mine = await cache.Client.UnlockAsync(new UnlockRequest { Name = "n", Token = first.Token });
        var again = await cache.Client.UnlockAsync(new UnlockRequest { Name = "n", Token = first.Token });

        Assert.True(first.Acquired);
        Assert.Equal(UnlockStatus.HeldByOther, other.Status);
        Assert.Equal(UnlockStatus.Released, mine.Status);
        Assert.Equal(UnlockStatus.NotHeld, again.Status);
    }

    [Fact]
    public async Task Await_using_releases_at_the_end_of_the_block_even_when_it_throws()
    {
        using var cache = server.NewCache();
        async Task Work()
        {
            await using var l = await cache.Lock("job", new LockOptions { Ttl = Long });
            Assert.False(await cache.CheckLock("job"));
            throw new InvalidOperationException("work failed");
        }

        var e = await Assert.ThrowsAsync<InvalidOperationException>(Work);
        Assert.Equal("work failed", e.Message);
        Assert.True(await cache.CheckLock("job"));
    }

    [Fact]
    public async Task A_busy_lock_throws_Aborted_with_the_holder_and_TryLock_returns_null()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        await using var held = await a.Lock("orders", new LockOptions { Ttl = Long, Owner = "worker-a" });

        var e = await Assert.ThrowsAsync<LarderLockNotAcquiredException>(() => b.Lock("orders"));
        Assert.Equal(StatusCode.Aborted, e.StatusCode);
        Assert.Equal("ABORTED", e.CodeName);
        Assert.Equal("orders", e.LockName);
        Assert.Equal("worker-a", e.Holder!.Owner);
        Assert.Equal(held.FencingToken, e.Holder.FencingToken);
        Assert.InRange((e.Holder.ExpiresAt - held.ExpiresAt).Duration().TotalMilliseconds, 0, 5);
        Assert.Contains("worker-a", e.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<LarderException>(e);

        var clock = Stopwatch.StartNew();
        Assert.Null(await b.TryLock("orders", new LockOptions { Wait = TimeSpan.FromMilliseconds(300) }));
        Assert.InRange(clock.ElapsedMilliseconds, 250, 5_000);
    }

    [Fact]
    public async Task A_waiting_cache_gets_the_lock_soon_after_the_holder_releases_it()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        var first = await a.Lock("orders", new LockOptions { Ttl = Long });

        var waiting = b.Lock("orders", new LockOptions { Ttl = Long, Wait = TimeSpan.FromSeconds(10) });
        await Task.Delay(300);
        Assert.False(waiting.IsCompleted);
        var released = Stopwatch.StartNew();
        Assert.True(await first.ReleaseAsync());

        await using var second = await waiting;
        Assert.InRange(released.ElapsedMilliseconds, 0, 2_000);
        Assert.True(second.FencingToken > first.FencingToken);
        Assert.NotEqual(first.Token, second.Token);
    }

    [Fact]
    public async Task An_expired_holder_is_replaced_and_its_guarded_writes_and_release_are_refused()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        var stale = await a.Lock("report", new LockOptions { Ttl = TimeSpan.FromMilliseconds(300) });
        Assert.True(await a.Set("report", "from a", TimeSpan.FromMinutes(1), guard: stale));

        await using var current = await b.Lock("report", new LockOptions { Ttl = Long, Wait = TimeSpan.FromSeconds(5) });
        Assert.True(current.FencingToken > stale.FencingToken);
        Assert.True(await b.Set("report", "from b", new SetOptions { Ttl = TimeSpan.FromMinutes(1), Lock = current }));

        Assert.False(await a.Set("report", "late from a", TimeSpan.FromMinutes(1), guard: stale));
        Assert.Equal("from b", await b.Get<string>("report"));
        // HELD_BY_OTHER: a handled outcome, not an error, and b keeps the lock.
        Assert.False(await stale.ReleaseAsync());
        Assert.False(await b.CheckLock("report"));
    }

    [Fact]
    public async Task Extending_a_lost_lock_fails_and_cancels_its_LostToken()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        var stale = await a.Lock("n", new LockOptions { Ttl = TimeSpan.FromMilliseconds(200) });
        await using var current = await b.Lock("n", new LockOptions { Ttl = Long, Wait = TimeSpan.FromSeconds(5) });

        var e = await Assert.ThrowsAsync<LarderException>(() => stale.ExtendAsync());
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("another holder", e.Message, StringComparison.Ordinal);
        Assert.True(stale.LostToken.IsCancellationRequested);
        Assert.False(current.LostToken.IsCancellationRequested);
    }

    [Fact]
    public async Task ExtendAsync_moves_the_expiry()
    {
        using var cache = server.NewCache();
        await using var l = await cache.Lock("n", new LockOptions { Ttl = TimeSpan.FromSeconds(5) });
        var moved = await l.ExtendAsync(TimeSpan.FromMinutes(2));
        Assert.InRange((moved - DateTimeOffset.UtcNow).TotalSeconds, 115, 121);
        Assert.Equal(moved, l.ExpiresAt);
    }

    [Fact]
    public async Task Fencing_tokens_rise_with_every_grant()
    {
        using var cache = server.NewCache();
        var tokens = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            await using var l = await cache.Lock(i % 2 == 0 ? "a" : "b", new LockOptions { Ttl = Long });
            tokens.Add(l.FencingToken);
        }
        Assert.Equal(tokens.Order(), tokens);
        Assert.Equal(tokens.Count, tokens.Distinct().Count());
    }

    [Fact]
    public async Task AutoRenew_keeps_a_short_lock_past_its_TTL_and_stops_on_release()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        // A TTL long enough that one renewal (every third of it) delayed by a
        // busy CI machine still lands in time; the wait spans over two TTLs.
        var renewed = await a.Lock("n", new LockOptions { Ttl = TimeSpan.FromMilliseconds(1_500), AutoRenew = true });
        var firstExpiry = renewed.ExpiresAt;

        await Task.Delay(3_500);
        Assert.Null(await b.TryLock("n"));
        Assert.True(renewed.ExpiresAt > firstExpiry);
        Assert.False(renewed.LostToken.IsCancellationRequested);

        Assert.True(await renewed.ReleaseAsync());
        var afterRelease = renewed.ExpiresAt;
        await Task.Delay(700); // longer than one renewal interval
        Assert.Equal(afterRelease, renewed.ExpiresAt);
        Assert.True(await b.CheckLock("n"));
    }

    [Fact]
    public async Task A_lock_without_AutoRenew_expires_after_its_TTL()
    {
        using var cache = server.NewCache();
        var l = await cache.Lock("n", new LockOptions { Ttl = TimeSpan.FromMilliseconds(300) });
        Assert.True(await cache.CheckLock("n", TimeSpan.FromSeconds(5)));
        Assert.False(await l.ReleaseAsync());
    }

    [Fact]
    public async Task CheckLock_waits_for_the_release_and_takes_nothing()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        var held = await a.Lock("n", new LockOptions { Ttl = Long });
        Assert.False(await b.CheckLock("n"));
        Assert.False(await b.CheckLock("n", TimeSpan.FromMilliseconds(200)));

        var check = b.CheckLock("n", TimeSpan.FromSeconds(10));
        await Task.Delay(200);
        Assert.False(check.IsCompleted);
        await held.ReleaseAsync();
        Assert.True(await check.WaitAsync(TimeSpan.FromSeconds(3)));
        await using var taken = await b.Lock("n");
    }

    [Fact]
    public async Task ListLocks_shows_live_locks_with_their_holders()
    {
        using var cache = server.NewCache();
        await using var j1 = await cache.Lock("jobs:1", new LockOptions { Ttl = Long, Owner = "w1" });
        await using var j2 = await cache.Lock("jobs:2", new LockOptions { Ttl = Long });
        var other = await cache.Lock("other", new LockOptions { Ttl = Long });

        var jobs = (await cache.ListLocks("jobs:*")).OrderBy(l => l.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(["jobs:1", "jobs:2"], jobs.Select(l => l.Name));
        Assert.Equal("w1", jobs[0].Holder.Owner);
        Assert.Equal($"{Environment.MachineName}:{Environment.ProcessId}", jobs[1].Holder.Owner);
        Assert.Equal(j1.FencingToken, jobs[0].Holder.FencingToken);
        Assert.Equal(3, (await cache.ListLocks()).Count);

        await other.ReleaseAsync();
        Assert.DoesNotContain(await cache.ListLocks(), l => l.Name == "other");
    }

    [Fact]
    public async Task A_guarded_write_combines_with_other_conditions()
    {
        using var cache = server.NewCache();
        await using var l = await cache.Lock("n", new LockOptions { Ttl = Long });
        Assert.True(await cache.Set("k", 1, new SetOptions { Lock = l, OnlyIfAbsent = true }));
        Assert.False(await cache.Set("k", 2, new SetOptions { Lock = l, OnlyIfAbsent = true }));
        Assert.Equal(1, await cache.Get<int>("k"));
    }

    [Fact]
    public async Task Dispose_never_throws_when_the_server_cannot_be_reached()
    {
        var network = new Cuttable();
        using var http = new HttpClient(network);
        using var cache = server.NewCache(configure: o => { o.HttpClient = http; o.Retries = 0; });
        var l = await cache.Lock("n", new LockOptions { Ttl = TimeSpan.FromMilliseconds(500), AutoRenew = true });
        network.Cut = true;

        var e = await Assert.ThrowsAsync<LarderException>(() => l.ReleaseAsync());
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
        await l.DisposeAsync();
        network.Cut = false;
        // Nobody renews it any more, so it expires within its TTL.
        Assert.True(await cache.CheckLock("n", TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Dispose_after_the_cache_was_disposed_does_not_throw()
    {
        var cache = server.NewCache();
        var l = await cache.Lock("n", new LockOptions { Ttl = TimeSpan.FromSeconds(2), AutoRenew = true });
        cache.Dispose();
        await l.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => l.ReleaseAsync());
    }

    [Fact]
    public async Task Bad_lock_arguments_fail_with_InvalidArgument()
    {
        using var cache = server.NewCache();
        var empty = await Assert.ThrowsAsync<LarderException>(() => cache.Lock(""));
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        var negative = await Assert.ThrowsAsync<LarderException>(() => cache.Lock("n", new LockOptions { Ttl = TimeSpan.FromSeconds(-1) }));
        Assert.Equal(StatusCode.InvalidArgument, negative.StatusCode);
        Assert.Contains("ttl_ms", negative.Message, StringComparison.Ordinal);
    }

    /// <summary>A network that can be cut: then every call fails as a refused connection does (with the socket error inside).</summary>
    private sealed class Cuttable() : DelegatingHandler(new SocketsHttpHandler())
    {
        public volatile bool Cut;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            Cut
                ? throw new HttpRequestException("connection refused", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused))
                : base.SendAsync(request, ct);
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryLockTests(MemoryFixture server) : LockTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisLockTests(RedisFixture server) : LockTests(server);
