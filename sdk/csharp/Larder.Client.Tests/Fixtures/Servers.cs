using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Larder.Client.Tests.Fixtures;

/// <summary>Where the repository is, and what the tests need from it.</summary>
internal static class Repo
{
    /// <summary>
    /// The server's build output that bin/larder.js runs; the one place that
    /// names it, so that a move of the entry point is a one-line change here.
    /// </summary>
    public const string ServerEntry = "dist/app/cli.js";

    /// <summary>The repository root: the first parent of the test binaries that holds bin/larder.js.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "bin", "larder.js")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no bin/larder.js above {AppContext.BaseDirectory}");
    }

    /// <summary>Fails with the command to run when a build output is missing.</summary>
    public static void RequireBuilt(string relativePath)
    {
        if (!File.Exists(Path.Combine(Root, relativePath)))
        {
            throw new InvalidOperationException($"{relativePath} is missing: run `npm run build` in {Root} first (npm test does)");
        }
    }
}

/// <summary>Free TCP ports on the loopback interface.</summary>
internal static class Ports
{
    /// <summary>
    /// A port that is free now, from below Linux's ephemeral range (32768 and
    /// up). Port 0 would hand out ephemeral ports, which other suites running
    /// at the same time pick the same way: two "free" answers can coincide,
    /// and then one suite's redis-server is another's.
    /// </summary>
    public static int Free()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
            }
        }
    }
}

/// <summary>
/// A redis-server of the test run, on a free port, without persistence. It
/// comes from PATH and its absence is an error, never a reason to skip.
/// </summary>
internal sealed partial class RedisServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private RedisServer(ChildProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"redis://127.0.0.1:{Port}";

    public static async Task<RedisServer> Start()
    {
        // A port found free can be taken by another test's server before
        // ours binds it; then ours exits and the probe would reach the other
        // one. Checking the answering process's id catches that.
        for (var attempt = 1; ; attempt++)
        {
            var port = Ports.Free();
            var process = ChildProcess.Start("redis-server",
                ["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning"],
                Repo.Root);
            var server = new RedisServer(process, port);
            try
            {
                if (await server.WaitUntilAnswering() == process.Id)
                {
                    return server;
                }
            }
            catch when (attempt < 3)
            {
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
            await server.DisposeAsync();
            if (attempt >= 3)
            {
                throw new InvalidOperationException($"redis-server kept losing its port to other processes. Output:\n{process.Output}");
            }
        }
    }

    /// <summary>Waits for a PING to be answered and returns the answering server's process id.</summary>
    private async Task<int> WaitUntilAnswering()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                await stream.WriteAsync("PING\r\nINFO server\r\n"u8.ToArray());
                var reply = new StringBuilder();
                var buffer = new byte[4096];
                while (!ProcessId().IsMatch(reply.ToString()))
                {
                    var n = await stream.ReadAsync(buffer);
                    if (n == 0)
                    {
                        break;
                    }
                    reply.Append(Encoding.ASCII.GetString(buffer, 0, n));
                }
                var pid = ProcessId().Match(reply.ToString());
                if (reply.ToString().StartsWith("+PONG", StringComparison.Ordinal) && pid.Success)
                {
                    return int.Parse(pid.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
            }
            if (DateTime.UtcNow >= deadline)
            {
                throw new InvalidOperationException($"redis-server did not answer on port {Port}. Output:\n{_process.Output}");
            }
            await Task.Delay(25);
        }
    }

    [GeneratedRegex(@"process_id:(\d+)\r\n")]
    private static partial Regex ProcessId();

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}

/// <summary>A Larder server (<c>node bin/larder.js serve</c>) of the test run.</summary>
internal sealed partial class LarderServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private LarderServer(ChildProcess process, string url)
    {
        _process = process;
        Url = url;
    }

    public string Url { get; }

    /// <summary>Starts a server on a port of its choosing (LARDER_PORT=0) and reads the port from its log.</summary>
    /// <param name="redisUrl">The Redis to use; null for the memory store.</param>
    /// <param name="configFile">A config file (LARDER_CONFIG); null for one that only turns read tracking on.</param>
    /// <param name="extraEnv">More environment, e.g. LARDER_TLS_CERT; with TLS the URL is https://.</param>
    public static async Task<LarderServer> Start(string? redisUrl, string? configFile = null, IReadOnlyDictionary<string, string?>? extraEnv = null)
    {
        Repo.RequireBuilt(Repo.ServerEntry);
        // Reads are tracked, so that last-read times reach the SDK's entries.
        configFile ??= TrackReadsConfig.Value;
        var env = new Dictionary<string, string?>
        {
            ["LARDER_PORT"] = "0",
            ["LARDER_HOST"] = "127.0.0.1",
            // info, because the "larder listening" line is what says it is up.
            ["LARDER_LOG_LEVEL"] = "info",
            ["LARDER_STORE"] = redisUrl is null ? "memory" : "redis",
            ["REDIS_URL"] = redisUrl,
            ["LARDER_CONFIG"] = configFile,
        };
        foreach (var (name, value) in extraEnv ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }
        var scheme = env.GetValueOrDefault("LARDER_TLS_CERT") is null ? "http" : "https";
        var process = ChildProcess.Start("node", ["bin/larder.js", "serve"], Repo.Root, env);
        try
        {
            var line = await process.WaitForLine(l => l.Contains("larder listening", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "\"larder listening\"");
            var port = PortField().Match(line);
            if (!port.Success)
            {
                throw new InvalidOperationException($"no port in the listening line: {line}");
            }
            return new LarderServer(process, $"{scheme}://127.0.0.1:{port.Groups[1].Value}");
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();

    private static readonly Lazy<string> TrackReadsConfig = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"larder-track-reads-{Environment.ProcessId}.json");
        File.WriteAllText(path, """{ "ttlPolicy": { "trackReads": true } }""");
        return path;
    });

    [GeneratedRegex("\"port\"\\s*:\\s*(\\d+)")]
    private static partial Regex PortField();
}
