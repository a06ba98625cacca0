using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// Expiry with short TTLs and real sleeps: the stores, not a fake clock, must
/// honour them. "Still there" checks keep a margin of a second or more, so
/// that a loaded machine makes them slow, not flaky; "gone" checks cannot
/// suffer from delays.
/// </summary>
public abstract class TtlTests(LarderFixture server)
{
    [Fact]
    public async Task A_value_expires_after_its_TTL_in_seconds()
    {
        using var cache = server.NewCache();
        await cache.Set("short-lived", "value", 1.0);
        Assert.Equal("value", await cache.Get<string>("short-lived"));
        await Task.Delay(1600);
        Assert.Null(await cache.Get<string>("short-lived"));
        Assert.False(await cache.Exists("short-lived"));
        Assert.DoesNotContain("short-lived", await cache.GetKeys());
    }

    [Fact]
    public async Task A_value_expires_after_its_TimeSpan_TTL()
    {
        using var cache = server.NewCache();
        await cache.Set("k", 1, TimeSpan.FromMilliseconds(300));
        await Task.Delay(900);
        Assert.Null(await cache.Get<int?>("k"));
    }

    [Fact]
    public async Task Get_with_touch_slides_the_expiry()
    {
        using var cache = server.NewCache();
        await cache.Set("k", "v", 1.5);
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(500);
            Assert.Equal("v", await cache.Get<string>("k", TimeSpan.FromMilliseconds(1500)));
        }
        // 2 s after the write, past its TTL: alive only thanks to the touches.
        var entry = await cache.GetEntry<string>("k", TimeSpan.FromMinutes(10));
        Assert.InRange((entry!.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 590, 601);

        // A touch also shortens: the entry now lives 0.3 s, not 10 minutes.
        Assert.Equal("v", await cache.Get<string>("k", TimeSpan.FromMilliseconds(300)));
        await Task.Delay(900);
        Assert.Null(await cache.Get<string>("k"));
    }

    [Fact]
    public async Task Extend_keeps_a_value_alive_past_its_first_TTL()
    {
        using var cache = server.NewCache();
        await cache.Set("k", "v", 0.4);
        Assert.True(await cache.Extend("k", 1.6));
        await Task.Delay(800);
        Assert.Equal("v", await cache.Get<string>("k"));
        await Task.Delay(1800);
        Assert.Null(await cache.Get<string>("k"));
    }

    [Fact]
    public async Task Increment_creates_with_its_TTL_and_starts_over_after_expiry()
    {
        using var cache = server.NewCache();
        Assert.Equal(1, await cache.Increment("rate", 1, 1.0));
        Assert.Equal(2, await cache.Increment("rate", 1, 1.0));
        await Task.Delay(1600);
        Assert.Equal(1, await cache.Increment("rate", 1, 1.0));
    }

    [Fact]
    public async Task A_sub_millisecond_TTL_is_one_millisecond_not_zero()
    {
        using var cache = server.NewCache();
        Assert.True(await cache.Set("k", 1, TimeSpan.FromTicks(1)));
        await Task.Delay(100);
        Assert.False(await cache.Exists("k"));
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryTtlTests(MemoryFixture server) : TtlTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisTtlTests(RedisFixture server) : TtlTests(server);
