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

    [Fact]
    public async Task SetMany_writes_every_entry_with_one_TTL_and_reports_versions()
    {
        using var cache = server.NewCache();
        var profiles = new Dictionary<string, UserProfile>
        {
            ["user:1"] = new("Alice", "pro", DateTimeOffset.UnixEpoch),
            ["user:2"] = new("Bob", "free", DateTimeOffset.UnixEpoch),
        };

        var first = await cache.SetMany(profiles, 60);
        Assert.Equal(["user:1", "user:2"], first.Select(r => r.Key));
        Assert.All(first, r => Assert.True(r.Created));
        Assert.Equal(profiles["user:2"], await cache.Get<UserProfile>("user:2"));
        var entry = await cache.GetEntry<UserProfile>("user:1");
        Assert.InRange((entry!.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 55, 61);
        Assert.Equal(first[0].Version, entry.Version);

        var second = await cache.SetMany(profiles);
        Assert.All(second, r => Assert.False(r.Created));
        Assert.True(second[0].Version > first[0].Version);
        // The version is the one compare-and-set needs.
        Assert.True(await cache.Set("user:1", profiles["user:2"], new SetOptions { IfVersion = second[0].Version }));
    }

    [Fact]
    public async Task SetMany_takes_mixed_values_and_TTLs_in_several_batches()
    {
        using var cache = server.NewCache();
        var items = Enumerable.Range(0, 1500).Select(i => new SetManyItem($"n:{i:D4}", i) { Ttl = TimeSpan.FromMinutes(1) }).ToList();
        items.Add(new SetManyItem("forever", new Address("Lund", null)) { NoExpiry = true });
        items.Add(new SetManyItem("blob", new byte[] { 1, 2, 3 }));

        var results = await cache.SetMany(items);

        Assert.Equal(items.Select(i => i.Key), results.Select(r => r.Key));
        Assert.Equal(1502, (await cache.GetKeys()).Count);
        Assert.Equal(1499, await cache.Get<int>("n:1499"));
        var forever = await cache.GetEntry<Address>("forever");
        Assert.Equal(new Address("Lund", null), forever!.Value);
        Assert.Null(forever.ExpiresAt);
        Assert.Equal(new byte[] { 1, 2, 3 }, await cache.Get<byte[]>("blob"));
    }

    [Fact]
    public async Task SetMany_with_a_bad_entry_writes_nothing()
    {
        using var cache = server.NewCache();
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.SetMany(
        [
            new SetManyItem("a", 1),
            new SetManyItem("b", 2) { Ttl = TimeSpan.FromSeconds(1), NoExpiry = true },
        ]));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("entries[1]", e.Message, StringComparison.Ordinal);
        Assert.False(await cache.Exists("a"));
        Assert.Empty(await cache.SetMany(new Dictionary<string, int>()));
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryBatchTests(MemoryFixture server) : BatchTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisBatchTests(RedisFixture server) : BatchTests(server);
