using System.Text.Json.Nodes;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// The C# runner of the language-neutral SDK scenarios in
/// test/scenarios/*.json (see the README there), which the TypeScript, Python
/// and Go SDKs run too, so that a scenario added once runs in every language.
/// </summary>
public abstract class ScenarioTests(LarderFixture server)
{
    /// <summary>Every scenario file, by name.</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Path.Combine(Repo.Root, "test", "scenarios"), "*.json").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(path));
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Scenario(string file)
    {
        var scenario = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Repo.Root, "test", "scenarios", file + ".json")))!;
        using var cache = server.NewCache();
        var handles = new Dictionary<string, LarderLock>();
        try
        {
            var i = 0;
            foreach (var step in scenario["steps"]!.AsArray())
            {
                i++;
                var where = $"{file} step {i} ({step!["op"]})";
                var error = (string?)step["error"];
                if (error is not null)
                {
                    var ex = await Assert.ThrowsAnyAsync<LarderException>(() => Run(cache, step, handles));
                    Assert.True(error == ex.CodeName, $"{where}: {ex.CodeName}, want {error}");
                    continue;
                }
                var got = await Run(cache, step, handles);
                if ((string?)step["op"] == "sleep")
                {
                    continue;
                }
                // Through text, so that a long and a parsed number compare alike.
                var actual = got is null ? null : JsonNode.Parse(got.ToJsonString());
                Assert.True(JsonNode.DeepEquals(step["expect"], actual), $"{where}: got {actual?.ToJsonString() ?? "null"}, want {step["expect"]?.ToJsonString() ?? "null"}");
            }
        }
        finally
        {
            foreach (var h in handles.Values)
            {
                await h.DisposeAsync();
            }
        }
    }

    private static bool IsBytes(JsonNode? node) => node is JsonObject o && o.Count == 1 && o.ContainsKey("$bytes");

    private static JsonNode Bytes(byte[] b) => new JsonObject { ["$bytes"] = Convert.ToBase64String(b) };

    private static TimeSpan? Seconds(JsonNode? n) => n is null ? null : TimeSpan.FromSeconds((double)n);

    private static async Task<JsonNode?> Run(LarderCache cache, JsonNode step, Dictionary<string, LarderLock> handles)
    {
        var key = (string?)step["key"] ?? "";
        var ttl = Seconds(step["ttl"]);
        switch ((string?)step["op"])
        {
            case "set":
            {
                var value = step["value"];
                var guard = step["lock"] is null ? null : handles[(string)step["lock"]!];
                if (IsBytes(value))
                {
                    var bytes = Convert.FromBase64String((string)value!["$bytes"]!);
                    return guard is null ? await cache.Set(key, bytes, ttl) : await cache.Set(key, bytes, ttl, guard);
                }
                var copy = value?.DeepClone();
                return guard is null ? await cache.Set(key, copy, ttl) : await cache.Set(key, copy, ttl, guard);
            }
            case "get":
                return IsBytes(step["expect"]) && await cache.Get<byte[]>(key) is { } b ? Bytes(b) : await cache.Get<JsonNode>(key);
            case "has":
                return await cache.Exists(key);
            case "delete":
                return await cache.Delete(key);
            case "extend":
                return await cache.Extend(key, (double)step["seconds"]!);
            case "keys":
                return new JsonArray((await cache.GetKeys((string?)step["pattern"])).Order(StringComparer.Ordinal).Select(k => (JsonNode?)k).ToArray());
            case "get_many":
            {
                var keys = step["keys"]!.AsArray().Select(k => (string)k!).ToList();
                var values = await cache.GetMany<JsonNode>(keys);
                return new JsonArray(keys.Select(k => values[k]?.DeepClone()).ToArray());
            }
            case "get_or_set":
            {
                var computed = false;
                var result = await cache.GetOrSet<JsonNode?>(key, () =>
                {
                    computed = true;
                    return Task.FromResult(step["value"]?.DeepClone());
                }, ttl);
                if (step["computed"] is { } want)
                {
                    Assert.True((bool)want == computed, $"get_or_set {key}: factory ran = {computed}");
                }
                return result;
            }
            case "increment":
                return await cache.Increment(key, (long?)step["delta"] ?? 1, ttl);
            case "lock":
            {
                var h = await cache.Lock((string?)step["name"] ?? "", new LockOptions { Ttl = ttl, Wait = Seconds(step["wait"]) });
                Assert.True(h.FencingToken > 0 && h.Token.Length > 0);
                if (step["as"] is { } name)
                {
                    handles[(string)name!] = h;
                }
                else
                {
                    await h.DisposeAsync();
                }
                return new JsonObject { ["acquired"] = true };
            }
            case "unlock":
                return await handles[(string)step["handle"]!].ReleaseAsync();
            case "sleep":
                await Task.Delay((int)step["ms"]!);
                return null;
            default:
                throw new InvalidOperationException($"unknown op {step["op"]}");
        }
    }
}

[Collection(MemoryServerDefinition.Name)]
public sealed class MemoryScenarioTests(MemoryFixture server) : ScenarioTests(server);

[Collection(RedisServerDefinition.Name)]
public sealed class RedisScenarioTests(RedisFixture server) : ScenarioTests(server);
