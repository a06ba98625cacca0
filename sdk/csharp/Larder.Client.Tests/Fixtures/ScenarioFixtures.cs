namespace Larder.Client.Tests.Fixtures;

/// <summary>
/// A Larder server with the scenario settings of test/scenarios/README.md, so
/// that a scenario sees the same server in every language: a value limit of
/// 1 KiB, and in every scenario's namespace the commands <c>echo</c> (a POST
/// that the local <see cref="Upstream"/> answers with the request body) and
/// <c>down</c> (nothing listens on port 1). Commands are configured per
/// namespace, so each scenario file's namespace is chosen before the server
/// starts (<see cref="NamespaceOf"/>).
/// </summary>
public abstract class ScenarioFixture : ConfiguredFixture
{
    private readonly Dictionary<string, string> _namespaces = ScenarioFiles.Names().ToDictionary(f => f, _ => NewNamespace());

    /// <summary>The namespace whose commands the server defines for a scenario file.</summary>
    public string NamespaceOf(string file) => _namespaces[file];

    /// <inheritdoc />
    protected override async Task<string?> PrepareConfig()
    {
        var origin = StartUpstream().Origin;
        var commands = new Dictionary<string, object>
        {
            ["echo"] = new { method = "POST", url = $"{origin}/reflect/body", cacheSeconds = 15, timeoutMs = 3000, allowPrivateNetwork = true },
            ["down"] = new { url = "http://127.0.0.1:1/", cacheSeconds = 15, timeoutMs = 3000, allowPrivateNetwork = true },
        };
        var config = new
        {
            limits = new { maxValueBytes = 1024 },
            commands = _namespaces.Values.ToDictionary(ns => ns, _ => commands),
        };
        return await WriteConfig("larder-cs-scenarios-", config);
    }
}

/// <summary>The scenario server on the memory store.</summary>
public sealed class MemoryScenarioFixture : ScenarioFixture
{
    /// <inheritdoc />
    public override string Store => "memory";
}

/// <summary>The scenario server on the Redis store, with its own redis-server.</summary>
public sealed class RedisScenarioFixture : ScenarioFixture
{
    /// <inheritdoc />
    public override string Store => "redis";
}

/// <summary>The shared scenario files, test/scenarios/*.json.</summary>
internal static class ScenarioFiles
{
    /// <summary>The folder that holds them.</summary>
    public static string Dir => Path.Combine(Repo.Root, "test", "scenarios");

    /// <summary>Their names without ".json", in ordinal order.</summary>
    public static IEnumerable<string> Names() =>
        Directory.GetFiles(Dir, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>().Order(StringComparer.Ordinal);
}
