using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>Get-or-compute, including in-process single flight.</summary>
public abstract class GetOrSetTests(LarderFixture server)
{
    [Fact]
    public async Task A_miss_computes_and_stores_then_hits_do_not_compute()
    {
        using var cache = server.NewCache();
        var calls = 0;
        Task<UserProfile> Fetch()
        {
            calls++;
            return Task.FromResult(new UserProfile("Alice", "pro", DateTimeOffset.Parse("2025-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture)));
        }

        var first = await cache.GetOrSet("customer:+4670", Fetch, 300);
        var second = await cache.GetOrSet("customer:+4670", Fetch, 300);

        Assert.Equal(1, calls);
        Assert.Equal(first, second);
        Assert.Equal("Alice", (await cache.Get<UserProfile>("customer:+4670"))!.Name);
        var entry = await cache.GetEntry<UserProfile>("customer:+4670");
        Assert.InRange((entry!.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 290, 301);
    }

    [Fact]
    public async Task Concurrent_callers_share_one_computation()
    {
        using var cache = server.NewCache();
        var calls = 0;
        var release = new TaskCompletionSource();
        async Task<int> Slow(CancellationToken ct)
        {
            Interlocked.Increment(ref calls);
            await release.Task.WaitAsync(ct);
            return 7;
        }

        var callers = Enumerable.Range(0, 20).Select(_ => cache.GetOrSet("k", Slow, TimeSpan.FromMinutes(1))).ToList();
        await Task.Delay(200);
        release.SetResult();

        Assert.All(await Task.WhenAll(callers), v => Assert.Equal(7, v));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task A_failing_factory_fails_every_waiter_and_stores_nothing()
    {
        using var cache = server.NewCache();
        var release = new TaskCompletionSource();
        async Task<string> Failing()
        {
            await release.Task;
            throw new InvalidOperationException("upstream down");
        }

        var callers = Enumerable.Range(0, 3).Select(_ => cache.GetOrSet("k", Failing)).ToList();
        release.SetResult();
        foreach (var caller in callers)
        {
            var e = await Assert.ThrowsAsync<InvalidOperationException>(() => caller);
            Assert.Equal("upstream down", e.Message);
        }
        Assert.False(await cache.Exists("k"));
        Assert.Equal("recovered", await cache.GetOrSet("k", () => Task.FromResult("recovered")));
    }

    [Fact]
    public async Task The_computed_value_is_returned_as_a_later_read_would()
    {
        using var cache = server.NewCache();
        var local = new DateTime(2025, 1, 2, 3, 4, 5, 678, DateTimeKind.Utc).AddTicks(9);
        var computed = await cache.GetOrSet("k", () => Task.FromResult(local));
        var read = await cache.GetOrSet("k", () => Task.FromResult(DateTime.MinValue));
        Assert.Equal(read, computed);
    }

    [Fact]
    public async Task A_caller_that_cancels_leaves_without_stopping_the_others()
    {
        using var cache = server.NewCache();
        var release = new TaskCompletionSource();
        var factoryToken = CancellationToken.None;
        async Task<string> Slow(CancellationToken ct)
        {
            factoryToken = ct;
            await release.Task.WaitAsync(ct);
            return "done";
        }

        using var leaving = new CancellationTokenSource();
        var quitter = cache.GetOrSet("k", Slow, ct: leaving.Token);
        var stayer = cache.GetOrSet("k", Slow);
        await Task.Delay(100);
        await leaving.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => quitter);
        Assert.False(factoryToken.IsCancellationRequested);
        release.SetResult();
        Assert.Equal("done", await stayer);
    }

    [Fact]
    public async Task When_every_caller_cancels_the_factory_is_cancelled()
    {
        using var cache = server.NewCache();
        var cancelled = new TaskCompletionSource();
        async Task<string> Endless(CancellationToken ct)
        {
            using var _ = ct.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, ct);
            return "never";
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cache.GetOrSet("k", Endless, ct: cts.Token));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(await cache.Exists("k"));
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryGetOrSetTests(MemoryFixture server) : GetOrSetTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisGetOrSetTests(RedisFixture server) : GetOrSetTests(server);
