using Larder.Client.Tests.Fixtures;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Larder.Client.Tests;

/// <summary>
/// App integration: AddLarder and AddLarderDistributedCache in a service
/// container, options from configuration, and HybridCache on Larder as L2.
/// </summary>
public abstract class DependencyInjectionTests(LarderFixture server)
{
    [Fact]
    public async Task AddLarder_registers_one_shared_cache_configured_in_code()
    {
        var ns = LarderFixture.NewNamespace();
        await using var provider = new ServiceCollection()
            .AddLarder(o => { o.Url = server.Url; o.Namespace = ns; })
            .BuildServiceProvider();

        var cache = provider.GetRequiredService<LarderCache>();
        Assert.Same(cache, provider.GetRequiredService<LarderCache>());
        await cache.Set("k", "from DI");
        using var direct = server.NewCache(ns);
        Assert.Equal("from DI", await direct.Get<string>("k"));
    }

    [Fact]
    public async Task AddLarder_binds_options_from_a_configuration_section()
    {
        var ns = LarderFixture.NewNamespace();
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Larder:Url"] = server.Url,
            ["Larder:Namespace"] = ns,
            ["Larder:Timeout"] = "00:00:03",
            ["Larder:Retries"] = "1",
            ["Larder:ComputeLockWait"] = "00:00:20",
            ["Larder:Http2"] = "true",
        }).Build();
        LarderOptions? seen = null;
        await using var provider = new ServiceCollection()
            .AddLarder(configuration.GetSection("Larder"), o => seen = o)
            .BuildServiceProvider();

        var cache = provider.GetRequiredService<LarderCache>();
        Assert.NotNull(seen);
        Assert.Equal(server.Url, seen.Url);
        Assert.Equal(TimeSpan.FromSeconds(3), seen.Timeout);
        Assert.Equal(1, seen.Retries);
        Assert.Equal(TimeSpan.FromSeconds(20), seen.ComputeLockWait);
        await cache.Set("k", 1);
        using var direct = server.NewCache(ns);
        Assert.Equal(1, await direct.Get<int>("k"));
    }

    [Fact]
    public void A_malformed_setting_names_its_configuration_path()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Larder:Url"] = server.Url,
            ["Larder:Retries"] = "many",
        }).Build();
        using var provider = new ServiceCollection().AddLarder(configuration.GetSection("Larder")).BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<LarderCache>());
        Assert.Contains("Larder:Retries", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddLarderDistributedCache_registers_IDistributedCache_over_the_registered_cache()
    {
        var ns = LarderFixture.NewNamespace();
        await using var provider = new ServiceCollection()
            .AddLarder(o => { o.Url = server.Url; o.Namespace = ns; })
            .AddLarderDistributedCache()
            .BuildServiceProvider();

        var distributed = provider.GetRequiredService<IDistributedCache>();
        Assert.IsType<LarderDistributedCache>(distributed);
        await distributed.SetStringAsync("k", "v", new DistributedCacheEntryOptions { AbsoluteExpirationRelativeToNow = TimeSpan.FromMinutes(1) });
        Assert.Equal("v", await distributed.GetStringAsync("k"));
        Assert.True(await provider.GetRequiredService<LarderCache>().Exists("k"));
    }

    [Fact]
    public void AddLarderDistributedCache_without_AddLarder_says_what_is_missing()
    {
        using var provider = new ServiceCollection().AddLarderDistributedCache().BuildServiceProvider();
        var e = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<IDistributedCache>());
        Assert.Contains("AddLarder", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HybridCache_shares_values_and_removals_through_Larder_as_its_L2()
    {
        var ns = LarderFixture.NewNamespace();
        // Two providers stand for two app instances: each has its own
        // HybridCache with its own in-memory L1, and only Larder in common.
        await using var first = App(ns);
        await using var second = App(ns);
        var a = first.GetRequiredService<HybridCache>();
        var b = second.GetRequiredService<HybridCache>();
        var computedByA = 0;
        var computedByB = 0;

        var made = await a.GetOrCreateAsync("report:q1", _ => { computedByA++; return ValueTask.FromResult(new Report("Q1", 42)); });
        Assert.Equal(new Report("Q1", 42), made);
        Assert.Equal(1, computedByA);
        // HybridCache writes through to Larder, not only into its L1.
        using var larder = server.NewCache(ns);
        await Stored(larder, "report:q1");

        // B's L1 is empty, so this value can only come from Larder.
        var read = await b.GetOrCreateAsync("report:q1", _ => { computedByB++; return ValueTask.FromResult(new Report("wrong", 0)); });
        Assert.Equal(new Report("Q1", 42), read);
        Assert.Equal(0, computedByB);

        await a.RemoveAsync("report:q1");
        Assert.False(await larder.Exists("report:q1"));
        // B's L1 still holds its copy until it expires, which is HybridCache's
        // design; a read that skips L1 goes to Larder and sees the removal.
        var fromL1 = await b.GetOrCreateAsync("report:q1", _ => { computedByB++; return ValueTask.FromResult(new Report("wrong", 0)); });
        Assert.Equal(new Report("Q1", 42), fromL1);
        Assert.Equal(0, computedByB);
        var fromL2 = await b.GetOrCreateAsync(
            "report:q1",
            _ => { computedByB++; return ValueTask.FromResult(new Report("Q1", 43)); },
            new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheRead });
        Assert.Equal(new Report("Q1", 43), fromL2);
        Assert.Equal(1, computedByB);
        await Stored(larder, "report:q1");

        // And B's recomputation reached A through Larder too.
        var again = await a.GetOrCreateAsync(
            "report:q1",
            _ => { computedByA++; return ValueTask.FromResult(new Report("wrong", 0)); },
            new HybridCacheEntryOptions { Flags = HybridCacheEntryFlags.DisableLocalCacheRead });
        Assert.Equal(new Report("Q1", 43), again);
        Assert.Equal(1, computedByA);
    }

    /// <summary>
    /// Waits for HybridCache's write of <paramref name="key"/> to reach
    /// Larder: it returns the value to the caller before that write ends.
    /// </summary>
    private static async Task Stored(LarderCache larder, string key)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!await larder.Exists(key))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{key} never reached Larder");
            await Task.Delay(20);
        }
    }

    private ServiceProvider App(string ns)
    {
        var services = new ServiceCollection();
        services.AddLarder(o => { o.Url = server.Url; o.Namespace = ns; });
        services.AddLarderDistributedCache();
        services.AddHybridCache();
        return services.BuildServiceProvider();
    }

    public sealed record Report(string Quarter, int Total);
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryDependencyInjectionTests(MemoryFixture server) : DependencyInjectionTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisDependencyInjectionTests(RedisFixture server) : DependencyInjectionTests(server);
