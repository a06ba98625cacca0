using System.Diagnostics;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// What a C# caller sees when the server's Redis goes away. Its own server
/// and redis-server (a class fixture), since it stops Redis for good.
/// </summary>
public sealed class RedisOutageTests(RedisFixture server) : IClassFixture<RedisFixture>
{
    [Fact]
    public async Task A_lost_store_surfaces_as_Unavailable_after_the_retries()
    {
        using var cache = server.NewCache(configure: o => o.Retries = 2);
        await cache.Set("k", "v");
        await server.StopRedis();

        var clock = Stopwatch.StartNew();
        var read = await Assert.ThrowsAsync<LarderException>(() => cache.Get<string>("k"));
        Assert.Equal(StatusCode.Unavailable, read.StatusCode);
        // Two retries with backoff (25-50 ms, then 50-100 ms) happened before giving up.
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(75), $"gave up after {clock.Elapsed}");

        var increment = await Assert.ThrowsAsync<LarderException>(() => cache.Increment("n"));
        Assert.Equal(StatusCode.Unavailable, increment.StatusCode);
    }
}
