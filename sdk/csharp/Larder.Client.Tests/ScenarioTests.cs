using System.Text.Json.Nodes;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// The C# runner of the language-neutral SDK scenarios in
/// test/scenarios/*.json (see the README there), which the TypeScript, Python
/// and Go SDKs run too, so that a scenario added once runs in every language.
/// </summary>
public abstract class ScenarioTests(ScenarioFixture server)
{
    /// <summary>Every scenario file, by name.</summary>
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var name in ScenarioFiles.Names())
        {
            data.Add(name);
        }
        return data;
    }

    [Fact]
    public void Every_scenario_file_is_found() => Assert.True(ScenarioFiles.Names().Count() >= 11, $"too few scenario files in {ScenarioFiles.Dir}");

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Scenario(string file)
    {
        var scenario = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(ScenarioFiles.Dir, file + ".json")))!;
        using var cache = server.NewCache(server.NamespaceOf(file));
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
                    Assert.True(error == ex.CodeName, $"{where}: {ex.CodeName} ({ex.Message}), want {error}");
                    var message = (string?)step["message"] ?? "";
                    Assert.True(ex.Message.Contains(message, StringComparison.Ordinal), $"{where}: \"{ex.Message}\" does not name {message}");
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

    /// <summary>A scenario value as C# writes it: bytes as byte[], {"$repeat": [text, n]} as a string, else a JsonNode.</summary>
    private static object? ToSdk(JsonNode? value)
    {
        if (IsBytes(value))
        {
            return Convert.FromBase64String((string)value!["$bytes"]!);
        }
        if (value is JsonObject o && o.Count == 1 && o["$repeat"] is JsonArray r)
        {
            return string.Concat(Enumerable.Repeat((string)r[0]!, (int)r[1]!));
        }
        return value?.DeepClone();
    }

    private static TimeSpan? Seconds(JsonNode? n) => n is null ? null : TimeSpan.FromSeconds((double)n);

    private static async Task<JsonNode?> Run(LarderCache cache, JsonNode step, Dictionary<string, LarderLock> handles)
    {
        var key = (string?)step["key"] ?? "";
        var ttl = Seconds(step["ttl"]);
        switch ((string?)step["op"])
        {
            case "set":
            {
                var guard = step["lock"] is null ? null : handles[(string)step["lock"]!];
                switch (ToSdk(step["value"]))
                {
                    case byte[] bytes:
                        return guard is null ? await cache.Set(key, bytes, ttl) : await cache.Set(key, bytes, ttl, guard);
                    case string text:
                        return guard is null ? await cache.Set(key, text, ttl) : await cache.Set(key, text, ttl, guard);
                    case var node:
                        var json = (JsonNode?)node;
                        return guard is null ? await cache.Set(key, json, ttl) : await cache.Set(key, json, ttl, guard);
                }
            }
            case "set_many":
            {
                var items = step["entries"]!.AsArray().Select(e => new SetManyItem((string)e!["key"]!, ToSdk(e["value"])) { Ttl = Seconds(e["ttl"]) }).ToList();
                var results = await cache.SetMany(items);
                Assert.Equal(items.Select(i => i.Key), results.Select(r => r.Key));
                // C#'s SetMany reports per entry whether it created the key, so "created" is checked here.
                if (step["created"] is JsonArray created)
                {
                    Assert.Equal(created.Select(c => (bool)c!), results.Select(r => r.Created));
                }
                return null;
            }
            case "run_command":
            {
                var options = new RunCommandOptions { Body = step["body"]?.DeepClone() };
                foreach (var (name, value) in step["args"]?.AsObject() ?? [])
                {
                    options.Args[name] = (string)value!;
                }
                var res = await cache.RunCommand((string)step["name"]!, options);
                return new JsonObject
                {
                    ["status"] = res.Status,
                    ["served_from"] = res.ServedFrom.ToString().ToLowerInvariant(),
                    ["fallback"] = res.Fallback,
                    ["body"] = res.ReadJson<JsonNode>(),
                };
            }
            case "command_events":
                return new JsonArray((await cache.CommandEvents((string?)step["command"])).Select(e => (JsonNode?)new JsonObject
                {
                    ["command"] = e.Command,
                    ["kind"] = e.Activated ? "activated" : "deactivated",
                    ["upstream_status"] = e.UpstreamStatus,
                }).ToArray());
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

/// <summary>The scenarios on the memory store.</summary>
public sealed class MemoryScenarioTests(MemoryScenarioFixture server) : ScenarioTests(server), IClassFixture<MemoryScenarioFixture>;

/// <summary>The scenarios on the Redis store.</summary>
public sealed class RedisScenarioTests(RedisScenarioFixture server) : ScenarioTests(server), IClassFixture<RedisScenarioFixture>;
