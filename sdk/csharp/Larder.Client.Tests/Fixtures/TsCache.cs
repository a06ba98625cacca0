using System.Diagnostics;

namespace Larder.Client.Tests.Fixtures;

/// <summary>Runs test/interop/ts-cache.mjs: one operation through the TypeScript SDK.</summary>
internal static class TsCache
{
    /// <summary>Runs the script and returns its stdout; throws with its stderr when it fails.</summary>
    public static async Task<string> Run(params string[] args)
    {
        Repo.RequireBuilt("sdk/ts/dist/src/index.js");
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = Repo.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("test/interop/ts-cache.mjs");
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start node");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ts-cache.mjs {string.Join(' ', args)} exited with {process.ExitCode}:\n{await stderr}");
        }
        return (await stdout).Trim();
    }
}
