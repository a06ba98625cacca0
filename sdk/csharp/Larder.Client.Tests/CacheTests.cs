using Larder.Client.Tests.Fixtures;
using Larder.V1;

namespace Larder.Client.Tests;

/// <summary>Every single-key method of <see cref="LarderCache"/>, against a live server.</summary>
public abstract class CacheTests(LarderFixture server)
{
    [Fact]
    public async Task Set_then_Get_returns_the_value()
    {
        using var cache = server.NewCache();
        Assert.True(await cache.Set("greeting", "Hello!"));
        Assert.Equal("Hello!", await cache.Get<string>("greeting"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_obsolete_Http2_option_is_accepted_and_changes_nothing(bool http2)
    {
#pragma warning disable CS0618 // The point is that code setting it still compiles and works.
        using var cache = server.NewCache(configure: o => o.Http2 = http2);
#pragma warning restore CS0618
        await cache.Set("k", 42, 60);
        Assert.Equal(42, await cache.Get<int>("k"));
    }

    [Fact]
    public async Task Get_on_a_miss_returns_default()
    {
        using var cache = server.NewCache();
        Assert.Null(await cache.Get<string>("missing"));
        Assert.Null(await cache.Get<int?>("missing"));
        Assert.Equal(0, await cache.Get<int>("missing"));
        Assert.Null(await cache.GetEntry<string>("missing"));
    }

    [Fact]
    public async Task Records_are_stored_as_camelCase_JSON_and_read_back_typed()
    {
        using var cache = server.NewCache();
        var session = new Session("+46701234567", 1_700_000_000_000, ["vip", "callback"], new Address("Malmö", null));
        await cache.Set("session:abc", session, TimeSpan.FromMinutes(10));

        Assert.Equal(session, await cache.Get<Session>("session:abc"));
        var raw = await cache.Client.GetAsync(new GetRequest { Key = "session:abc" });
        Assert.Equal(Value.KindOneofCase.Json, raw.Value.KindCase);
        Assert.Contains("\"callerNumber\":\"+46701234567\"", raw.Value.Json, StringComparison.Ordinal);
        Assert.Contains("\"city\":\"Malmö\"", raw.Value.Json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Byte_arrays_are_stored_as_binary()
    {
        using var cache = server.NewCache();
        byte[] bytes = [0, 1, 2, 255, 254];
        await cache.Set("blob", bytes);

        Assert.Equal(bytes, await cache.Get<byte[]>("blob"));
        var raw = await cache.Client.GetAsync(new GetRequest { Key = "blob" });
        Assert.Equal(Value.KindOneofCase.Binary, raw.Value.KindCase);
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<string>("blob"));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
    }

    [Fact]
    public async Task A_value_of_the_wrong_shape_fails_with_FailedPrecondition()
    {
        using var cache = server.NewCache();
        await cache.Set("name", "Alice");
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<int>("name"));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("name", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exists_tells_whether_a_key_is_there()
    {
        using var cache = server.NewCache();
        Assert.False(await cache.Exists("k"));
        await cache.Set("k", "v");
        Assert.True(await cache.Exists("k"));
    }

    [Fact]
    public async Task Delete_removes_and_reports_whether_the_key_existed()
    {
        using var cache = server.NewCache();
        await cache.Set("k", "v");
        Assert.True(await cache.Delete("k"));
        Assert.False(await cache.Delete("k"));
        Assert.False(await cache.Exists("k"));
    }

    [Fact]
    public async Task Extend_adds_to_the_remaining_TTL()
    {
        using var cache = server.NewCache();
        await cache.Set("session:abc123", "state", 60);
        var before = (await cache.GetEntry<string>("session:abc123"))!.ExpiresAt!.Value;

        Assert.True(await cache.Extend("session:abc123", 300)); // the seed's "extend by 5 minutes"
        var after = (await cache.GetEntry<string>("session:abc123"))!.ExpiresAt!.Value;
        Assert.InRange((after - before).TotalSeconds, 299, 301);

        Assert.True(await cache.Extend("session:abc123", TimeSpan.FromSeconds(10)));
        Assert.False(await cache.Extend("missing", 300));
    }

    [Fact]
    public async Task Increment_counts_atomically_and_creates_with_a_TTL()
    {
        using var cache = server.NewCache();
        Assert.Equal(1, await cache.Increment("rate:caller", 1, 3600));
        Assert.Equal(6, await cache.Increment("rate:caller", 5));
        Assert.Equal(4, await cache.Increment("rate:caller", -2));
        Assert.Equal(1, await cache.Increment("other"));
        var entry = await cache.GetEntry<long>("rate:caller");
        Assert.Equal(4, entry!.Value);
        Assert.InRange((entry.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 3590, 3601);

        var counted = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => cache.Increment("race")));
        Assert.Equal(Enumerable.Range(1, 20).Select(i => (long)i), counted.Order());
    }

    [Fact]
    public async Task Increment_of_a_non_integer_fails_with_FailedPrecondition()
    {
        using var cache = server.NewCache();
        await cache.Set("k", "text");
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Increment("k"));
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
    }

    [Fact]
    public async Task GetEntry_returns_metadata_and_versions_rise()
    {
        using var cache = server.NewCache();
        var start = DateTimeOffset.UtcNow.AddSeconds(-1);
        await cache.Set("k", "one", 60);
        var first = await cache.GetEntry<string>("k");
        await cache.Set("k", "two", 60);
        var second = await cache.GetEntry<string>("k");

        Assert.Equal("two", second!.Value);
        Assert.True(second.Version > first!.Version);
        Assert.Equal(first.CreatedAt, second.CreatedAt);
        Assert.InRange(second.UpdatedAt, start, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.InRange((second.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 55, 61);
        Assert.NotNull(second.LastReadAt);
    }

    [Fact]
    public async Task Writes_without_a_TTL_get_the_default_and_NoExpiry_keeps_forever()
    {
        using var cache = server.NewCache();
        await cache.Set("default", 1);
        await cache.Set("forever", 1, new SetOptions { NoExpiry = true });
        var byDefault = await cache.GetEntry<int>("default");
        Assert.InRange((byDefault!.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 3590, 3601);
        Assert.Null((await cache.GetEntry<int>("forever"))!.ExpiresAt);
    }

    [Fact]
    public async Task Conditional_writes_apply_only_when_their_condition_holds()
    {
        using var cache = server.NewCache();
        Assert.False(await cache.Set("k", 1, new SetOptions { OnlyIfPresent = true }));
        Assert.True(await cache.Set("k", 1, new SetOptions { OnlyIfAbsent = true }));
        Assert.False(await cache.Set("k", 2, new SetOptions { OnlyIfAbsent = true }));
        var version = (await cache.GetEntry<int>("k"))!.Version;
        Assert.True(await cache.Set("k", 3, new SetOptions { IfVersion = version }));
        Assert.False(await cache.Set("k", 4, new SetOptions { IfVersion = version }));
        Assert.Equal(3, await cache.Get<int>("k"));
    }

    [Fact]
    public async Task Namespaces_do_not_see_each_other()
    {
        using var a = server.NewCache();
        using var b = server.NewCache();
        await a.Set("shared-name", "a's");
        Assert.Null(await b.Get<string>("shared-name"));
        Assert.False(await b.Exists("shared-name"));
        Assert.Empty(await b.GetKeys());
    }

    [Fact]
    public async Task Null_is_a_value_distinct_from_a_miss()
    {
        using var cache = server.NewCache();
        await cache.Set<string?>("nothing", null);
        Assert.True(await cache.Exists("nothing"));
        var entry = await cache.GetEntry<string?>("nothing");
        Assert.NotNull(entry);
        Assert.Null(entry.Value);
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryCacheTests(MemoryFixture server) : CacheTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisCacheTests(RedisFixture server) : CacheTests(server);
