using System.Diagnostics;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// GetOrSet across processes: each LarderCache with its own HttpClient
/// stands in for a process, since in-process single flight is per cache.
/// </summary>
public abstract class StampedeTests(LarderFixture server)
{
    [Fact]
    public async Task Fifty_callers_across_caches_on_a_cold_key_run_the_factory_once()
    {
        var ns = LarderFixture.NewNamespace();
        var caches = Enumerable.Range(0, 5).Select(_ => server.NewCache(ns)).ToList();
        try
        {
            var calls = 0;
            async Task<Report> Build(CancellationToken ct)
            {
                Interlocked.Increment(ref calls);
                await Task.Delay(300, ct);
                return new Report("q3", 42);
            }

            using var start = new ManualResetEventSlim();
            var callers = Enumerable.Range(0, 50)
                .Select(i => Task.Run(() =>
                {
                    start.Wait();
                    return caches[i % caches.Count].GetOrSet("report:q3", Build, TimeSpan.FromMinutes(5));
                }))
                .ToList();
            start.Set();
            var results = await Task.WhenAll(callers);

            Assert.Equal(1, calls);
            Assert.All(results, r => Assert.Equal(new Report("q3", 42), r));
            Assert.Empty(await caches[0].ListLocks("larder:compute:*"));
        }
        finally
        {
            caches.ForEach(c => c.Dispose());
        }
    }

    [Fact]
    public async Task The_computing_caller_holds_the_compute_lock_named_after_the_key()
    {
        using var cache = server.NewCache();
        var computing = new TaskCompletionSource();
        var finish = new TaskCompletionSource();
        var call = cache.GetOrSet("customer:+4670", async () =>
        {
            computing.SetResult();
            await finish.Task;
            return "Alice";
        });
        await computing.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var held = Assert.Single(await cache.ListLocks("larder:compute:*"));
        Assert.Equal("larder:compute:customer:+4670", held.Name);
        Assert.Equal($"{Environment.MachineName}:{Environment.ProcessId}", held.Holder.Owner);
        finish.SetResult();
        Assert.Equal("Alice", await call);
        Assert.True(await cache.CheckLock("larder:compute:customer:+4670"));
    }

    [Fact]
    public void Long_keys_are_hashed_into_the_lock_name_as_in_the_TypeScript_SDK()
    {
        Assert.Equal("larder:compute:k", LockMissPolicy.ComputeLockName("k"));
        Assert.Equal("larder:compute:" + new string('x', 200), LockMissPolicy.ComputeLockName(new string('x', 200)));
        // Expected values from Node: createHash("sha256").update(key).digest("base64url").
        Assert.Equal("larder:compute:sha256:hKBnjJCTf13PmZTVhmZo2muZUQnIrYRUEFWbSKTsr-0", LockMissPolicy.ComputeLockName(new string('x', 201)));
        // The limit is in UTF-8 bytes, not characters.
        Assert.Equal("larder:compute:" + new string('ö', 100), LockMissPolicy.ComputeLockName(new string('ö', 100)));
        Assert.Equal("larder:compute:sha256:6yiieG_xR6ofEhz7TBSBzXe8K_Z-8fUZ3DnHFkrlDXk", LockMissPolicy.ComputeLockName(new string('ö', 101)));
    }

    [Fact]
    public async Task A_waiter_reads_the_value_another_cache_computed()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        var computing = new TaskCompletionSource();
        var finish = new TaskCompletionSource();
        var first = a.GetOrSet("k", async () =>
        {
            computing.SetResult();
            await finish.Task;
            return "from a";
        });
        await computing.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var second = b.GetOrSet("k", () => Task.FromResult("from b"));
        await Task.Delay(300);
        Assert.False(second.IsCompleted);
        finish.SetResult();

        Assert.Equal("from a", await first);
        Assert.Equal("from a", await second.WaitAsync(TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public async Task A_waiter_gives_up_after_ComputeLockWait_naming_the_holder()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns, o => o.ComputeLockWait = TimeSpan.FromMilliseconds(400));
        var computing = new TaskCompletionSource();
        var finish = new TaskCompletionSource();
        var first = a.GetOrSet("k", async () =>
        {
            computing.SetResult();
            await finish.Task;
            return 1;
        });
        await computing.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var e = await Assert.ThrowsAsync<LarderLockNotAcquiredException>(() => b.GetOrSet("k", () => Task.FromResult(2)));
        Assert.Equal(StatusCode.Aborted, e.StatusCode);
        Assert.Equal("larder:compute:k", e.LockName);
        Assert.NotNull(e.Holder);
        Assert.Contains("ComputeLockWait", e.Message, StringComparison.Ordinal);
        finish.SetResult();
        Assert.Equal(1, await first);
    }

    [Fact]
    public async Task A_caller_takes_over_when_the_computing_process_died()
    {
        var ns = LarderFixture.NewNamespace();
        using var dead = server.NewCache(ns);
        using var alive = server.NewCache(ns);
        // A process that took the compute lock and died: nobody renews or releases it.
        await dead.Lock("larder:compute:k", new LockOptions { Ttl = TimeSpan.FromMilliseconds(700) });

        var clock = Stopwatch.StartNew();
        Assert.Equal("computed", await alive.GetOrSet("k", () => Task.FromResult("computed")));
        Assert.InRange(clock.ElapsedMilliseconds, 500, 5_000);
    }

    [Fact]
    public async Task The_compute_lock_is_renewed_while_a_slow_factory_runs()
    {
        var ns = LarderFixture.NewNamespace();
        using var a = server.NewCache(ns);
        using var b = server.NewCache(ns);
        // A short compute lock, so that the factory outlives several of its
        // TTLs, yet long enough that a renewal (every third of it) delayed by
        // a busy CI machine still lands in time.
        var ttl = TimeSpan.FromMilliseconds(1_500);
        var flights = new ComputeFlights(a, new LockMissPolicy(a, TimeSpan.FromSeconds(10), ttl));
        var computing = new TaskCompletionSource();
        var finish = new TaskCompletionSource();
        var first = flights.Run<string>("k", async _ =>
        {
            computing.SetResult();
            await finish.Task;
            return "from a";
        }, null, default);
        await computing.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var granted = Assert.Single(await a.ListLocks("larder:compute:k")).Holder;

        var computedByB = 0;
        var second = b.GetOrSet("k", () => { Interlocked.Increment(ref computedByB); return Task.FromResult("from b"); });
        await Task.Delay(ttl * 3);
        // Still held by the same grant, with a later expiry: renewed, not re-taken.
        var held = Assert.Single(await a.ListLocks("larder:compute:k")).Holder;
        Assert.Equal(granted.FencingToken, held.FencingToken);
        Assert.True(held.ExpiresAt > granted.ExpiresAt + ttl, $"{held.ExpiresAt:O} vs {granted.ExpiresAt:O}");
        Assert.False(second.IsCompleted);

        finish.SetResult();
        Assert.Equal("from a", await first);
        Assert.Equal("from a", await second.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, computedByB);
    }

    [Fact]
    public async Task Without_the_lock_permission_values_are_still_computed()
    {
        using var http = new HttpClient(new LockDenied());
        using var cache = server.NewCache(configure: o => o.HttpClient = http);
        Assert.Equal(7, await cache.GetOrSet("k", () => Task.FromResult(7)));
        Assert.Equal(7, await cache.Get<int>("k"));
    }

    private sealed record Report(string Quarter, int Total);

    /// <summary>Answers Lock the way a server does for an API key without the "lock" permission.</summary>
    private sealed class LockDenied() : DelegatingHandler(new SocketsHttpHandler())
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.RequestUri!.AbsolutePath.EndsWith("/Lock", StringComparison.Ordinal))
            {
                return Task.FromResult(GrpcAnswers.Error(Grpc.Core.StatusCode.PermissionDenied, "the API key lacks the lock permission"));
            }
            return base.SendAsync(request, ct);
        }
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryStampedeTests(MemoryFixture server) : StampedeTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisStampedeTests(RedisFixture server) : StampedeTests(server);
