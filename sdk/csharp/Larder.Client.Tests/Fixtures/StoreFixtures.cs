using System.Diagnostics;

namespace Larder.Client.Tests.Fixtures;

/// <summary>
/// A live Larder server for a collection of tests, on one store. Tests take a
/// fresh namespace each (<see cref="NewCache"/>), so they never see each
/// other's keys.
/// </summary>
public abstract class LarderFixture : IAsyncLifetime
{
    private RedisServer? _redis;
    private LarderServer? _larder;

    /// <summary>Which store the server uses.</summary>
    public abstract string Store { get; }

    /// <summary>The server's base URL.</summary>
    public string Url => _larder?.Url ?? throw new InvalidOperationException("server not started");

    /// <summary>A namespace no other test uses.</summary>
    public static string NewNamespace() => $"cs-{Guid.NewGuid():N}";

    /// <summary>A cache on a fresh namespace (or the one given).</summary>
    public LarderCache NewCache(string? ns = null, Action<LarderOptions>? configure = null)
    {
        var options = new LarderOptions { Url = Url, Namespace = ns ?? NewNamespace() };
        configure?.Invoke(options);
        return new LarderCache(options);
    }

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (Store == "redis")
        {
            _redis = await RedisServer.Start();
        }
        _larder = await LarderServer.Start(_redis?.Url, await PrepareConfig());
    }

    /// <summary>Writes the server's config file before it starts; null (the default) for none.</summary>
    protected virtual Task<string?> PrepareConfig() => Task.FromResult<string?>(null);

    /// <summary>Stops Redis: the server then answers UNAVAILABLE.</summary>
    internal async Task StopRedis()
    {
        Debug.Assert(_redis is not null, "only for the redis store");
        await _redis.DisposeAsync();
        _redis = null;
    }

    /// <inheritdoc />
    public virtual async Task DisposeAsync()
    {
        if (_larder is not null)
        {
            await _larder.DisposeAsync();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }
}

/// <summary>A server on the memory store.</summary>
public sealed class MemoryFixture : LarderFixture
{
    /// <inheritdoc />
    public override string Store => "memory";
}

/// <summary>A server on the Redis store, with its own redis-server.</summary>
public sealed class RedisFixture : LarderFixture
{
    /// <inheritdoc />
    public override string Store => "redis";
}

/// <summary>The tests that share the memory-store server.</summary>
[CollectionDefinition(Name)]
public sealed class MemoryServerDefinition : ICollectionFixture<MemoryFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "memory store";
}

/// <summary>The tests that share the Redis-store server.</summary>
[CollectionDefinition(Name)]
public sealed class RedisServerDefinition : ICollectionFixture<RedisFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "redis store";
}
