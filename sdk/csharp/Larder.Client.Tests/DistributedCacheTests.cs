using System.Text;
using Larder.Client.Tests.Fixtures;
using Larder.V1;
using Microsoft.Extensions.Caching.Distributed;

namespace Larder.Client.Tests;

/// <summary>The IDistributedCache adapter, with its three expiration options.</summary>
public abstract class DistributedCacheTests(LarderFixture server)
{
    private static DistributedCacheEntryOptions Relative(double seconds) =>
        new() { AbsoluteExpirationRelativeToNow = TimeSpan.FromSeconds(seconds) };

    [Fact]
    public async Task Bytes_round_trip_and_are_stored_as_binary()
    {
        using var cache = server.NewCache();
        IDistributedCache distributed = new LarderDistributedCache(cache);
        byte[] bytes = [1, 2, 3, 0, 255];

        await distributed.SetAsync("k", bytes, Relative(60));

        Assert.Equal(bytes, await distributed.GetAsync("k"));
        var raw = await cache.Client.GetAsync(new GetRequest { Key = "k" });
        Assert.Equal(Value.KindOneofCase.Binary, raw.Value.KindCase);
        Assert.InRange((raw.Metadata.ExpiresAt.ToDateTimeOffset() - DateTimeOffset.UtcNow).TotalSeconds, 55, 61);
        Assert.Null(await distributed.GetAsync("missing"));
    }

    [Fact]
    public void The_synchronous_API_and_string_extensions_work()
    {
        using var cache = server.NewCache();
        IDistributedCache distributed = new LarderDistributedCache(cache);
        distributed.SetString("greeting", "Hello!", Relative(60));
        Assert.Equal("Hello!", distributed.GetString("greeting"));
        distributed.Refresh("greeting");
        distributed.Remove("greeting");
        Assert.Null(distributed.Get("greeting"));
    }

    [Fact]
    public async Task RemoveAsync_deletes()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        await distributed.SetAsync("k", [1], new DistributedCacheEntryOptions());
        await distributed.RemoveAsync("k");
        Assert.False(await cache.Exists("k"));
    }

    [Fact]
    public async Task AbsoluteExpirationRelativeToNow_expires_the_entry()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        await distributed.SetAsync("k", [1], Relative(1.0));
        Assert.NotNull(await distributed.GetAsync("k"));
        await Task.Delay(1600);
        Assert.Null(await distributed.GetAsync("k"));
    }

    [Fact]
    public async Task AbsoluteExpiration_expires_the_entry_and_must_lie_ahead()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        await distributed.SetAsync("k", [1], new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddSeconds(1) });
        Assert.NotNull(await distributed.GetAsync("k"));
        await Task.Delay(1600);
        Assert.Null(await distributed.GetAsync("k"));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            distributed.SetAsync("k", [1], new DistributedCacheEntryOptions { AbsoluteExpiration = DateTimeOffset.UtcNow.AddSeconds(-1) }));
    }

    [Fact]
    public async Task SlidingExpiration_is_reset_by_each_read()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        await distributed.SetAsync("k", [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMilliseconds(1500) });
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(500);
            Assert.NotNull(await distributed.GetAsync("k"));
        }
        await Task.Delay(2200);
        Assert.Null(await distributed.GetAsync("k"));
    }

    [Fact]
    public async Task RefreshAsync_resets_the_sliding_window_without_reading()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        await distributed.SetAsync("k", [1], new DistributedCacheEntryOptions { SlidingExpiration = TimeSpan.FromMilliseconds(1500) });
        for (var i = 0; i < 4; i++)
        {
            await Task.Delay(500);
            await distributed.RefreshAsync("k");
        }
        Assert.NotNull(await distributed.GetAsync("k"));
    }

    [Fact]
    public async Task Sliding_expiration_never_outlives_the_absolute_one()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        var absolute = DateTimeOffset.UtcNow.AddMilliseconds(2500);
        await distributed.SetAsync("k", [1], new DistributedCacheEntryOptions
        {
            SlidingExpiration = TimeSpan.FromSeconds(2),
            AbsoluteExpiration = absolute,
        });
        await Task.Delay(1000);
        // Uncapped, this read would slide the expiry to 3 s after the write.
        Assert.NotNull(await distributed.GetAsync("k"));
        var entry = await cache.GetEntry<byte[]>("k");
        Assert.True(entry!.ExpiresAt <= absolute.AddMilliseconds(50), $"expires at {entry.ExpiresAt:O}, absolute {absolute:O}");
        var untilPast = absolute.AddMilliseconds(700) - DateTimeOffset.UtcNow;
        await Task.Delay(untilPast > TimeSpan.Zero ? untilPast : TimeSpan.Zero);
        Assert.Null(await distributed.GetAsync("k"));
    }

    [Fact]
    public async Task Values_written_by_other_clients_read_as_their_bytes()
    {
        using var cache = server.NewCache();
        var distributed = new LarderDistributedCache(cache);
        await cache.Set("json", "text");
        await cache.Set("raw", new byte[] { 9, 8 });
        Assert.Equal("\"text\"", Encoding.UTF8.GetString((await distributed.GetAsync("json"))!));
        Assert.Equal([9, 8], await distributed.GetAsync("raw"));
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryDistributedCacheTests(MemoryFixture server) : DistributedCacheTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisDistributedCacheTests(RedisFixture server) : DistributedCacheTests(server);
