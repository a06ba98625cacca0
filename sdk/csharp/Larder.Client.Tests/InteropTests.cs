using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// Cross-language round trips with the TypeScript SDK (@larder/sdk, through
/// test/interop/ts-cache.mjs) on the same server and namespace.
/// </summary>
public abstract class InteropTests(LarderFixture server)
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Fact]
    public async Task An_object_TypeScript_writes_reads_in_CSharp_as_a_record()
    {
        var ns = LarderFixture.NewNamespace();
        const string json = """{"name":"Alice","plan":"pro","createdAt":"2025-06-01T12:30:00.000Z"}""";
        await TsCache.Run("set", server.Url, ns, "user:123", json, "3600");

        using var cache = server.NewCache(ns);
        var profile = await cache.Get<UserProfile>("user:123");

        Assert.Equal(new UserProfile("Alice", "pro", DateTimeOffset.Parse("2025-06-01T12:30:00Z", CultureInfo.InvariantCulture)), profile);
        var entry = await cache.GetEntry<UserProfile>("user:123");
        Assert.InRange((entry!.ExpiresAt!.Value - DateTimeOffset.UtcNow).TotalSeconds, 3590, 3601);
    }

    [Fact]
    public async Task Nested_TypeScript_data_reads_into_nested_records()
    {
        var ns = LarderFixture.NewNamespace();
        const string json = """{"callerNumber":"+46701234567","startTime":1700000000000,"tags":["vip"],"address":{"city":"Malmö","zip":null}}""";
        await TsCache.Run("set", server.Url, ns, "session:call-1", json);

        using var cache = server.NewCache(ns);
        var session = await cache.Get<Session>("session:call-1");

        Assert.Equal(new Session("+46701234567", 1_700_000_000_000, ["vip"], new Address("Malmö", null)), session);
    }

    [Fact]
    public async Task A_record_CSharp_writes_reads_equal_in_TypeScript()
    {
        var ns = LarderFixture.NewNamespace();
        using var inNs = server.NewCache(ns);
        var profile = new UserProfile("Bob", "free", new DateTimeOffset(2025, 6, 1, 12, 30, 0, TimeSpan.Zero));
        await inNs.Set("user:456", profile, 3600);

        // What TypeScript code (interface UserProfile { name; plan; createdAt }) expects, exactly.
        await TsCache.Run("expect", server.Url, ns, "user:456", """{"name":"Bob","plan":"free","createdAt":"2025-06-01T12:30:00+00:00"}""");
        var printed = JsonNode.Parse(await TsCache.Run("get", server.Url, ns, "user:456"));
        Assert.True(JsonNode.DeepEquals(JsonSerializer.SerializeToNode(profile, Web), printed));
    }

    [Fact]
    public async Task Counters_and_primitives_cross_both_ways()
    {
        var ns = LarderFixture.NewNamespace();
        using var cache = server.NewCache(ns);
        await TsCache.Run("set", server.Url, ns, "rate:caller", "3");
        Assert.Equal(4, await cache.Increment("rate:caller"));
        await TsCache.Run("expect", server.Url, ns, "rate:caller", "4");

        await cache.Set("greeting", "Hello!");
        Assert.Equal("\"Hello!\"", await TsCache.Run("get", server.Url, ns, "greeting"));
        Assert.Equal("null", await TsCache.Run("get", server.Url, ns, "missing"));
    }

    [Fact]
    public async Task Bytes_cross_both_ways_as_binary()
    {
        var ns = LarderFixture.NewNamespace();
        using var cache = server.NewCache(ns);
        byte[] bytes = [0, 1, 2, 250, 255];
        await TsCache.Run("set-bytes", server.Url, ns, "from-ts", Convert.ToBase64String(bytes));
        Assert.Equal(bytes, await cache.Get<byte[]>("from-ts"));

        await cache.Set("from-cs", bytes);
        Assert.Equal($"{{\"$bytes\":\"{Convert.ToBase64String(bytes)}\"}}", await TsCache.Run("get", server.Url, ns, "from-cs"));
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryInteropTests(MemoryFixture server) : InteropTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisInteropTests(RedisFixture server) : InteropTests(server);
