using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Larder.Client;

/// <summary>What <see cref="LarderCache.RunCommand"/> sends besides the command's name.</summary>
public sealed class RunCommandOptions
{
    /// <summary>Values for the command's URL placeholders; only the args the command allows are accepted.</summary>
    public IDictionary<string, string> Args { get; init; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Caller headers; the server passes on only those the command allows.</summary>
    public IDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The request body, for commands whose method takes one: a string is
    /// sent as text, a byte[] as binary, anything else as JSON text (with the
    /// cache's JSON options). Null: no body.
    /// </summary>
    public object? Body { get; init; }

    /// <summary>
    /// The deadline of this call; null for <see cref="LarderOptions.Timeout"/>.
    /// Raise it for commands whose upstream timeout (timeoutMs) is longer.
    /// </summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>How a command's response was served.</summary>
public enum CommandSource
{
    /// <summary>Fetched from the upstream by this call (or a concurrent identical one).</summary>
    Live,
    /// <summary>A stored response younger than the command's cacheSeconds.</summary>
    Cached,
    /// <summary>A stored response standing in for a failing upstream.</summary>
    Fallback,
}

/// <summary>The answer of <see cref="LarderCache.RunCommand"/>: the upstream's response and how it was served.</summary>
public sealed partial class CommandResult
{
    private readonly JsonSerializerOptions _json;
    private readonly string _command;

    internal CommandResult(string command, JsonSerializerOptions json, int status, IReadOnlyDictionary<string, string> headers,
        byte[] body, string? text, CommandSource servedFrom, bool fallback, TimeSpan age, string url)
    {
        _command = command;
        _json = json;
        Status = status;
        Headers = headers;
        Body = body;
        Text = text;
        ServedFrom = servedFrom;
        Fallback = fallback;
        Age = age;
        Url = url;
    }

    /// <summary>The upstream's HTTP status (a stored one when not live).</summary>
    public int Status { get; }

    /// <summary>The upstream's response headers, looked up case-insensitively; repeated ones joined with ", ".</summary>
    public IReadOnlyDictionary<string, string> Headers { get; }

    /// <summary>The body's bytes (UTF-8 for a text body); empty when there is none.</summary>
    public byte[] Body { get; }

    /// <summary>The body as text when the upstream sent text (JSON among it); null for a binary body.</summary>
    public string? Text { get; }

    /// <summary>Whether the content-type says JSON (<c>application/json</c>, <c>…+json</c>).</summary>
    public bool IsJson => Headers.TryGetValue("content-type", out var type) && JsonType().IsMatch(type);

    /// <summary>How it was served: live, from the cache, or as a fallback.</summary>
    public CommandSource ServedFrom { get; }

    /// <summary>True when a stored response stands in for a failing upstream.</summary>
    public bool Fallback { get; }

    /// <summary>The response's age; zero when live.</summary>
    public TimeSpan Age { get; }

    /// <summary>The upstream URL that was (or would have been) called, without secrets.</summary>
    public string Url { get; }

    /// <summary>Reads the body as JSON into <typeparamref name="T"/>, with the cache's JSON options.</summary>
    /// <typeparam name="T">The type to read.</typeparam>
    /// <exception cref="LarderException"><see cref="StatusCode.FailedPrecondition"/> when the body is not JSON that fits <typeparamref name="T"/>.</exception>
    public T? ReadJson<T>()
    {
        try
        {
            return JsonSerializer.Deserialize<T>(Body, _json);
        }
        catch (JsonException e)
        {
            throw new LarderException(StatusCode.FailedPrecondition,
                $"body of command \"{_command}\" (status {Status}): cannot be read as {typeof(T).Name}: {e.Message}", e);
        }
    }

    [GeneratedRegex(@"[/+]json\b", RegexOptions.IgnoreCase)]
    private static partial Regex JsonType();
}

/// <summary>One fallback change of a command, as <see cref="LarderCache.CommandEvents"/> lists it.</summary>
/// <param name="Time">When it happened.</param>
/// <param name="Command">The command's name.</param>
/// <param name="UpstreamStatus">The upstream status that caused it; 0 for a timeout or connection failure.</param>
/// <param name="Activated">True when fallback turned on (the upstream failed), false when a live success turned it off.</param>
public sealed record CommandFallbackEvent(DateTimeOffset Time, string Command, int UpstreamStatus, bool Activated);

/// <summary>Conversions of command bodies.</summary>
internal static class CommandBodies
{
    public static V1.Body? Encode(object? body, JsonSerializerOptions json) => body switch
    {
        null => null,
        string text => new V1.Body { Text = text },
        byte[] bytes => new V1.Body { Binary = Google.Protobuf.ByteString.CopyFrom(bytes) },
        _ => new V1.Body { Text = ValueCodec.Encode(body, json, "body").Json },
    };

    public static (byte[] Bytes, string? Text) Decode(V1.Body? body) => body?.KindCase switch
    {
        V1.Body.KindOneofCase.Text => (Encoding.UTF8.GetBytes(body.Text), body.Text),
        V1.Body.KindOneofCase.Binary => (body.Binary.ToByteArray(), null),
        _ => ([], ""),
    };
}
