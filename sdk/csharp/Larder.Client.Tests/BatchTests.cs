using Larder.Client.Tests.Fixtures;
using Larder.V1;

namespace Larder.Client.Tests;

/// <summary>GetMany, GetKeys/IterateKeys and DeleteMany.</summary>
public abstract class BatchTests(LarderFixture server)
{
    [Fact]
    public async Task GetMany_answers_in_request_order_with_null_for_misses()
    {
        using var cache = server.NewCache();
        await cache.Set("user:2", new UserProfile("Bob", "free", DateTimeOffset.UnixEpoch));
        await cache.Set("user:1", new UserProfile("Alice", "pro", DateTimeOffset.UnixEpoch));

        var profiles = await cache.GetMany<UserProfile>(["user:1", "user:404", "user:2", "user:1"]);

        Assert.Equal(["user:1", "user:404", "user:2"], profiles.Keys);
        Assert.Equal("Alice", profiles["user:1"]!.Name);
        Assert.Null(profiles["user:404"]);
        Assert.Equal("Bob", profiles["user:2"]!.Name);
        Assert.Equal(["Alice", null, "Bob"], profiles.Select(p => p.Value?.Name));
    }

    [Fact]
    public async Task GetMany_of_more_than_one_batch_keeps_the_order()
    {
        using var cache = server.NewCache();
        var keys = Enumerable.Range(0, 1200).Select(i => $"n:{i:D4}").ToList();
        // SetMany through the generated client: also proves it is usable directly.
        foreach (var chunk in keys.Where((_, i) => i % 3 != 0).Chunk(500))
        {
            var request = new SetManyRequest();
            request.Entries.AddRange(chunk.Select(k => new SetManyEntry { Key = k, Value = new Value { Json = int.Parse(k[2..], System.Globalization.CultureInfo.InvariantCulture).ToString(System.Globalization.CultureInfo.InvariantCulture) }, TtlMs = 60_000 }));
            await cache.Client.SetManyAsync(request);
        }
        var shuffled = keys.OrderBy(k => k.GetHashCode(StringComparison.Ordinal)).ToList();

        var values = await cache.GetMany<int?>(shuffled);

        Assert.Equal(shuffled, values.Keys);
        foreach (var (key, value) in values)
        {
            var i = int.Parse(key[2..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(i % 3 == 0 ? null : i, value);
        }
    }

    [Fact]
    public async Task GetKeys_follows_every_page()
    {
        using var cache = server.NewCache();
        var keys = Enumerable.Range(0, 300).Select(i => $"page:{i}").ToHashSet();
        await Task.WhenAll(keys.Select(k => cache.Set(k, 1, 60)));
        await cache.Set("other", 1, 60);

        var all = await cache.GetKeys();
        Assert.Equal(301, all.Count);
        var paged = await cache.GetKeys("page:*");
        Assert.Equal(keys, paged.ToHashSet());
        Assert.Equal(paged.Count, paged.Distinct().Count());
    }

    [Fact]
    public async Task IterateKeys_pages_lazily_with_a_small_page_size()
    {
        using var cache = server.NewCache();
        var keys = Enumerable.Range(0, 260).Select(i => $"it:{i}").ToHashSet();
        await Task.WhenAll(keys.Select(k => cache.Set(k, 1, 60)));

        var seen = new HashSet<string>();
        await foreach (var key in cache.IterateKeys("it:*", pageSize: 7))
        {
            seen.Add(key);
        }
        Assert.Equal(keys, seen);
    }

    [Fact]
    public async Task GetKeys_matches_globs_and_escapes()
    {
        using var cache = server.NewCache();
        foreach (var key in new[] { "user:1", "user:22", "session:1", "star*", "stars" })
        {
            await cache.Set(key, 1, 60);
        }
        Assert.Equal(["user:1", "user:22"], (await cache.GetKeys("user:*")).Order());
        Assert.Equal(["user:1"], await cache.GetKeys("user:?"));
        Assert.Equal(["session:1", "user:1"], (await cache.GetKeys("[su]*:1")).Order());
        Assert.Equal(["star*"], await cache.GetKeys("star\\*"));
        Assert.Empty(await cache.GetKeys("nothing*"));
    }

    [Fact]
    public async Task DeleteMany_counts_the_keys_that_existed()
    {
        using var cache = server.NewCache();
        await cache.Set("a", 1);
        await cache.Set("b", 2);
        Assert.Equal(2, await cache.DeleteMany(["a", "b", "c"]));
        Assert.Empty(await cache.GetKeys());
        Assert.Equal(0, await cache.DeleteMany(["a"]));
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryBatchTests(MemoryFixture server) : BatchTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisBatchTests(RedisFixture server) : BatchTests(server);
