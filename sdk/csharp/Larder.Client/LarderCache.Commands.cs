using Larder.V1;

namespace Larder.Client;

public sealed partial class LarderCache
{
    /// <summary>
    /// Runs a command defined in the server's configuration (an upstream
    /// HTTP call), with its response caching and cache fallback:
    /// <code>
    /// var order = await cache.RunCommand("getOrder", new RunCommandOptions { Args = { ["orderId"] = "42" } });
    /// var body = order.ReadJson&lt;Order&gt;();   // order.ServedFrom, order.Fallback, order.Age
    /// </code>
    /// Never retried: a command may not be safe to repeat. An upstream 4xx or
    /// 5xx with nothing stored comes back as a result with that status, not
    /// as an exception.
    /// </summary>
    /// <param name="name">The command's name.</param>
    /// <param name="options">Args, caller headers, body, deadline; null for none.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The upstream's response and how it was served.</returns>
    /// <exception cref="LarderException">
    /// <see cref="StatusCode.NotFound"/> for a command the namespace does not define;
    /// <see cref="StatusCode.Unavailable"/> or <see cref="StatusCode.DeadlineExceeded"/> when the
    /// upstream cannot be reached and nothing is stored.
    /// </exception>
    public async Task<CommandResult> RunCommand(string name, RunCommandOptions? options = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        options ??= new RunCommandOptions();
        var request = new RunCommandRequest { Name = name, Args = { options.Args }, Headers = { options.Headers } };
        if (CommandBodies.Encode(options.Body, _json) is { } body)
        {
            request.Body = body;
        }
        if (options.Timeout is { } t && t <= TimeSpan.Zero && t != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), t, "Timeout must be positive");
        }
        var res = await Call(false, (c, o) => c.RunCommandAsync(request, o), ct, options.Timeout).ConfigureAwait(false);

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var h in res.Headers)
        {
            headers[h.Name] = headers.TryGetValue(h.Name, out var earlier) ? $"{earlier}, {h.Value}" : h.Value;
        }
        var (bytes, text) = CommandBodies.Decode(res.Body);
        var servedFrom = res.ServedFrom switch
        {
            ServedFrom.Cached => CommandSource.Cached,
            ServedFrom.Fallback => CommandSource.Fallback,
            _ => CommandSource.Live,
        };
        return new CommandResult(name, _json, res.Status, headers, bytes, text, servedFrom, res.CacheFallback,
            TimeSpan.FromMilliseconds(res.AgeMs), res.Url);
    }

    /// <summary>The namespace's command fallback activations and deactivations of the last 24 h, newest first.</summary>
    /// <param name="command">Only this command's events; null for all.</param>
    /// <param name="limit">At most this many, up to 1000; 0 for the server's default (100).</param>
    /// <param name="ct">Cancels the call.</param>
    public async Task<IReadOnlyList<CommandFallbackEvent>> CommandEvents(string? command = null, int limit = 0, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var request = new ListCommandEventsRequest { Command = command ?? "", Limit = limit };
        var res = await Call(true, (c, o) => c.ListCommandEventsAsync(request, o), ct).ConfigureAwait(false);
        return [.. res.Events.Select(e => new CommandFallbackEvent(
            e.Time?.ToDateTimeOffset() ?? DateTimeOffset.UnixEpoch,
            e.Command,
            e.UpstreamStatus,
            e.Kind != CommandEventKind.FallbackDeactivated))];
    }
}
