namespace Larder.Client.Tests.Fixtures;

/// <summary>
/// A Larder server whose config file defines commands (in the namespace
/// <see cref="Namespace"/>) against a local <see cref="Upstream"/>. Its own
/// servers, not the shared ones: the fallback test waits out a cache
/// period, and on a server of its own that wait runs beside the other suites.
/// </summary>
public abstract class CommandFixture : ConfiguredFixture
{
    /// <summary>The namespace the commands are defined in.</summary>
    public const string Namespace = "cs-commands";

    /// <summary>The commands' cacheSeconds: the least the server allows.</summary>
    public const int CacheSeconds = 15;

    /// <summary>A cache in the commands' namespace.</summary>
    public LarderCache CommandCache(Action<LarderOptions>? configure = null) => NewCache(Namespace, configure);

    /// <inheritdoc />
    protected override async Task<string?> PrepareConfig()
    {
        var origin = StartUpstream().Origin;
        // allowPrivateNetwork: the upstream is on loopback, which commands may
        // not reach by default; "blocked" keeps that default to show it.
        var commands = new Dictionary<string, object>
        {
            ["item"] = new { url = $"{origin}/items/{{id}}", args = new[] { "id" }, cacheSeconds = CacheSeconds, allowPrivateNetwork = true, timeoutMs = 3000 },
            ["flaky"] = new { url = $"{origin}/items/{{id}}", args = new[] { "id" }, cacheSeconds = CacheSeconds, allowPrivateNetwork = true, timeoutMs = 3000 },
            ["echo"] = new { method = "POST", url = $"{origin}/echo/{{id}}", args = new[] { "id" }, passHeaders = new[] { "x-tenant" }, allowPrivateNetwork = true },
            ["bytes"] = new { url = $"{origin}/bytes/{{id}}", args = new[] { "id" }, allowPrivateNetwork = true },
            ["status"] = new { url = $"{origin}/status/{{code}}", args = new[] { "code" }, allowPrivateNetwork = true },
            ["slow"] = new { url = $"{origin}/slow/{{ms}}", args = new[] { "ms" }, allowPrivateNetwork = true, timeoutMs = 10_000 },
            ["blocked"] = new { url = $"{origin}/items/{{id}}", args = new[] { "id" } },
        };
        return await WriteConfig("larder-cs-commands-", new { commands = new Dictionary<string, object> { [Namespace] = commands } });
    }
}

/// <summary>Commands on the memory store.</summary>
public sealed class MemoryCommandFixture : CommandFixture
{
    /// <inheritdoc />
    public override string Store => "memory";
}

/// <summary>Commands on the Redis store, with its own redis-server.</summary>
public sealed class RedisCommandFixture : CommandFixture
{
    /// <inheritdoc />
    public override string Store => "redis";
}
