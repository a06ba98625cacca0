using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;

namespace Larder.Client.Tests.Fixtures;

/// <summary>
/// A server process started by the tests, whose output is drained all the
/// time (Larder dies of EPIPE if nobody reads its log) and kept for error
/// messages.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource<string> Found)> _waiters = [];

    private ChildProcess(Process process)
    {
        _process = process;
    }

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>What the process printed so far (last 200 lines), for failure messages.</summary>
    public string Output => string.Join('\n', _output);

    /// <summary>Starts a program from PATH; fails loudly, naming the program, when it is missing.</summary>
    public static ChildProcess Start(string program, IEnumerable<string> args, string workingDirectory, IReadOnlyDictionary<string, string?>? env = null)
    {
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        foreach (var (name, value) in env ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(name);
            }
            else
            {
                info.Environment[name] = value;
            }
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"cannot start `{program}`: {e.Message}. It must be on PATH; scripts/test.sh installs it.", e);
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        // A safety net for a test host that exits without disposing its
        // fixtures (e.g. on an unhandled exception): no orphan servers.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
            }
        };
        return child;
    }

    /// <summary>Waits for an output line matching <paramref name="match"/>; fails if the process exits first.</summary>
    public async Task<string> WaitForLine(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            var earlier = _output.FirstOrDefault(match);
            if (earlier is not null)
            {
                return earlier;
            }
            _waiters.Add((match, found));
        }
        var exited = _process.WaitForExitAsync();
        var winner = await Task.WhenAny(found.Task, exited, Task.Delay(timeout));
        if (winner == found.Task)
        {
            return await found.Task;
        }
        var why = winner == exited ? $"exited with code {_process.ExitCode}" : $"did not print it within {timeout.TotalSeconds} s";
        throw new InvalidOperationException($"waiting for {what}: `{_process.StartInfo.FileName}` {why}. Output:\n{Output}");
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_waiters)
        {
            _output.Enqueue(line);
            while (_output.Count > 200 && _output.TryDequeue(out _))
            {
            }
            foreach (var (match, found) in _waiters.Where(w => w.Match(line)).ToList())
            {
                found.TrySetResult(line);
                _waiters.RemoveAll(w => w.Found == found);
            }
        }
    }

    /// <summary>Stops the process (SIGKILL: these are throwaway test servers) and waits for it.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
            await _process.WaitForExitAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started.
        }
        _process.Dispose();
    }
}
