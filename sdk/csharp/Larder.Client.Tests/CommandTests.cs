using System.Text;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>RunCommand and CommandEvents against a server with commands and a local upstream.</summary>
public abstract class CommandTests(CommandFixture server)
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task RunCommand_answers_live_then_from_the_cache()
    {
        using var cache = server.CommandCache();
        var id = NewId();

        var live = await cache.RunCommand("item", new RunCommandOptions { Args = { ["id"] = id } });
        Assert.Equal(200, live.Status);
        Assert.Equal(CommandSource.Live, live.ServedFrom);
        Assert.False(live.Fallback);
        Assert.Equal(TimeSpan.Zero, live.Age);
        Assert.Equal($"{server.Upstream.Origin}/items/{id}", live.Url);
        Assert.True(live.IsJson);
        Assert.Equal("1", live.Headers["X-Upstream-Hits"]);
        Assert.Equal(new Item(id, 1), live.ReadJson<Item>());
        Assert.Equal(live.Text, Encoding.UTF8.GetString(live.Body));

        var cached = await cache.RunCommand("item", new RunCommandOptions { Args = { ["id"] = id } });
        Assert.Equal(CommandSource.Cached, cached.ServedFrom);
        Assert.False(cached.Fallback);
        Assert.Equal(new Item(id, 1), cached.ReadJson<Item>());
        Assert.Equal(1, server.Upstream.Hits(id));
    }

    [Fact]
    public async Task Bodies_and_allowed_caller_headers_reach_the_upstream()
    {
        using var cache = server.CommandCache();
        var json = await cache.RunCommand("echo", new RunCommandOptions
        {
            Args = { ["id"] = NewId() },
            Headers = { ["x-tenant"] = "acme", ["x-other"] = "dropped" },
            Body = new Item("sent", 7),
        });
        var echo = json.ReadJson<Upstream.Echo>()!;
        Assert.Equal("POST", echo.Method);
        Assert.Equal("acme", echo.Tenant);
        Assert.Null(echo.Other);
        // The cache's JSON options: camelCase, as every SDK writes values.
        Assert.Equal("""{"id":"sent","hits":7}""", echo.BodyText);

        var text = await cache.RunCommand("echo", new RunCommandOptions { Args = { ["id"] = NewId() }, Body = "plain words" });
        Assert.Equal("plain words", text.ReadJson<Upstream.Echo>()!.BodyText);

        byte[] bytes = [9, 8, 0, 255];
        var binary = await cache.RunCommand("echo", new RunCommandOptions { Args = { ["id"] = NewId() }, Body = bytes });
        Assert.Equal(bytes, binary.ReadJson<Upstream.Echo>()!.BodyBytes);
    }

    [Fact]
    public async Task A_binary_response_comes_back_as_bytes_without_text()
    {
        using var cache = server.CommandCache();
        var res = await cache.RunCommand("bytes", new RunCommandOptions { Args = { ["id"] = NewId() } });
        Assert.Equal(Upstream.Bytes, res.Body);
        Assert.Null(res.Text);
        Assert.False(res.IsJson);
        var e = Assert.Throws<LarderException>(() => res.ReadJson<Item>());
        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
    }

    [Fact]
    public async Task An_upstream_error_without_a_cache_is_a_result_not_an_exception()
    {
        using var cache = server.CommandCache();
        var res = await cache.RunCommand("status", new RunCommandOptions { Args = { ["code"] = "404" } });
        Assert.Equal(404, res.Status);
        Assert.Equal(CommandSource.Live, res.ServedFrom);
        Assert.Equal("status 404", res.ReadJson<Dictionary<string, string>>()!["error"]);
    }

    [Fact]
    public async Task Unknown_and_unsafe_commands_are_refused()
    {
        using var cache = server.CommandCache();
        var unknown = await Assert.ThrowsAsync<LarderException>(() => cache.RunCommand("nope"));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        // Defined for another namespace only.
        using var other = server.NewCache();
        var elsewhere = await Assert.ThrowsAsync<LarderException>(() => other.RunCommand("item", new RunCommandOptions { Args = { ["id"] = "x" } }));
        Assert.Equal(StatusCode.NotFound, elsewhere.StatusCode);
        // A loopback upstream without allowPrivateNetwork.
        var blocked = await Assert.ThrowsAsync<LarderException>(() => cache.RunCommand("blocked", new RunCommandOptions { Args = { ["id"] = "x" } }));
        Assert.Equal(StatusCode.PermissionDenied, blocked.StatusCode);
    }

    [Fact]
    public async Task The_call_deadline_can_be_raised_for_a_slow_command()
    {
        using var cache = server.CommandCache(o => o.Timeout = TimeSpan.FromMilliseconds(300));
        var late = await Assert.ThrowsAsync<LarderException>(() => cache.RunCommand("slow", new RunCommandOptions { Args = { ["ms"] = "1000" } }));
        Assert.Equal(StatusCode.DeadlineExceeded, late.StatusCode);
        var res = await cache.RunCommand("slow", new RunCommandOptions { Args = { ["ms"] = "1000" }, Timeout = TimeSpan.FromSeconds(5) });
        Assert.Equal(200, res.Status);
    }

    [Fact]
    public async Task A_failing_upstream_is_answered_from_the_cache_and_logged_as_events()
    {
        using var cache = server.CommandCache();
        var id = NewId();
        var args = new Dictionary<string, string> { ["id"] = id };
        Assert.Empty(await cache.CommandEvents("flaky"));
        var live = await cache.RunCommand("flaky", new RunCommandOptions { Args = args });
        Assert.Equal(CommandSource.Live, live.ServedFrom);

        // Only a response older than cacheSeconds sends the next run upstream.
        await Task.Delay(TimeSpan.FromSeconds(CommandFixture.CacheSeconds + 0.5));
        server.Upstream.Fail(id);
        var fallback = await cache.RunCommand("flaky", new RunCommandOptions { Args = args });
        Assert.Equal(CommandSource.Fallback, fallback.ServedFrom);
        Assert.True(fallback.Fallback);
        Assert.Equal(200, fallback.Status);
        Assert.Equal(new Item(id, 1), fallback.ReadJson<Item>());
        Assert.True(fallback.Age >= TimeSpan.FromSeconds(CommandFixture.CacheSeconds), $"age {fallback.Age}");
        Assert.Equal(2, server.Upstream.Hits(id));

        var activated = Assert.Single(await cache.CommandEvents("flaky"));
        Assert.True(activated.Activated);
        Assert.Equal("flaky", activated.Command);
        Assert.Equal(503, activated.UpstreamStatus);
        Assert.InRange(activated.Time, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

        // In fallback every 5th run goes live; once the upstream is back, that run ends it.
        server.Upstream.Fail(id, false);
        CommandResult? recovered = null;
        for (var run = 0; run < 6 && recovered is null; run++)
        {
            var res = await cache.RunCommand("flaky", new RunCommandOptions { Args = args });
            recovered = res.ServedFrom == CommandSource.Live ? res : null;
        }
        Assert.NotNull(recovered);
        Assert.False(recovered.Fallback);
        var events = await cache.CommandEvents("flaky");
        Assert.Equal([false, true], events.Select(e => e.Activated));
        Assert.Equal(200, events[0].UpstreamStatus);
        Assert.Empty(await cache.CommandEvents("item"));
        Assert.Single(await cache.CommandEvents(limit: 1));
    }

    private sealed record Item(string Id, int Hits);
}

public sealed class MemoryCommandTests(MemoryCommandFixture server) : CommandTests(server), IClassFixture<MemoryCommandFixture>;

public sealed class RedisCommandTests(RedisCommandFixture server) : CommandTests(server), IClassFixture<RedisCommandFixture>;
