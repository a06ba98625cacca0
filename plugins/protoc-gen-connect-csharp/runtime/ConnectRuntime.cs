// TEMPLATE: protoc-gen-connect-csharp copies this file into every output as
// TEMPLATE: ConnectRuntime.g.cs, with the namespace filled in. Lines starting
// TEMPLATE: with "// TEMPLATE" are dropped.
namespace RUNTIME_NAMESPACE;

using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Google.Protobuf;

/// <summary>
/// The status codes of the Connect protocol. They are the gRPC codes, with
/// the same numbers; success has no code because it is not an error.
/// </summary>
public enum ConnectCode
{
    /// <summary>The call was cancelled, typically by the caller.</summary>
    Canceled = 1,
    /// <summary>An error without a more specific code.</summary>
    Unknown = 2,
    /// <summary>The request is invalid regardless of the server's state.</summary>
    InvalidArgument = 3,
    /// <summary>The deadline passed before the call completed.</summary>
    DeadlineExceeded = 4,
    /// <summary>A requested entity was not found.</summary>
    NotFound = 5,
    /// <summary>An entity to be created already exists.</summary>
    AlreadyExists = 6,
    /// <summary>The caller may not do this.</summary>
    PermissionDenied = 7,
    /// <summary>A quota or resource ran out.</summary>
    ResourceExhausted = 8,
    /// <summary>The server's state forbids the call.</summary>
    FailedPrecondition = 9,
    /// <summary>The call was aborted, e.g. by a concurrency conflict.</summary>
    Aborted = 10,
    /// <summary>A value is outside its valid range.</summary>
    OutOfRange = 11,
    /// <summary>The server does not implement the call.</summary>
    Unimplemented = 12,
    /// <summary>A bug in the server.</summary>
    Internal = 13,
    /// <summary>The service cannot be reached right now; retrying may help.</summary>
    Unavailable = 14,
    /// <summary>Data was lost or corrupted.</summary>
    DataLoss = 15,
    /// <summary>The call lacks valid credentials.</summary>
    Unauthenticated = 16,
}

/// <summary>A failed Connect call: the server's error, or a transport failure mapped to a code.</summary>
public sealed class ConnectException : Exception
{
    /// <summary>Creates an error.</summary>
    /// <param name="code">The status code.</param>
    /// <param name="message">The server's message, without any code prefix.</param>
    /// <param name="innerException">The underlying failure, if any.</param>
    public ConnectException(ConnectCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>The status code.</summary>
    public ConnectCode Code { get; }

    /// <summary>The code as the protocol spells it, e.g. <c>invalid_argument</c>.</summary>
    public string CodeName => ConnectCodes.ToName(Code);

    /// <summary>The response headers of the failed call, when the server answered.</summary>
    public HttpResponseHeaders? ResponseHeaders { get; init; }
}

/// <summary>Conversions between <see cref="ConnectCode"/> and the protocol's names.</summary>
public static class ConnectCodes
{
    private static readonly string[] Names =
    {
        "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found",
        "already_exists", "permission_denied", "resource_exhausted", "failed_precondition",
        "aborted", "out_of_range", "unimplemented", "internal", "unavailable", "data_loss",
        "unauthenticated",
    };

    /// <summary>The protocol's name of a code, e.g. <c>invalid_argument</c>.</summary>
    /// <param name="code">The code.</param>
    public static string ToName(ConnectCode code)
    {
        var i = (int)code;
        return i > 0 && i < Names.Length ? Names[i] : "unknown";
    }

    /// <summary>The code of a protocol name; <see cref="ConnectCode.Unknown"/> for names it does not know.</summary>
    /// <param name="name">The name, e.g. <c>invalid_argument</c>.</param>
    public static ConnectCode FromName(string? name)
    {
        var i = name is null ? -1 : Array.IndexOf(Names, name);
        return i > 0 ? (ConnectCode)i : ConnectCode.Unknown;
    }

    /// <summary>
    /// The code for an HTTP status without a Connect error body, e.g. from a
    /// proxy, as the Connect protocol specifies it.
    /// </summary>
    /// <param name="status">The HTTP status.</param>
    public static ConnectCode FromHttpStatus(HttpStatusCode status) => (int)status switch
    {
        400 => ConnectCode.Internal,
        401 => ConnectCode.Unauthenticated,
        403 => ConnectCode.PermissionDenied,
        404 => ConnectCode.Unimplemented,
        429 or 502 or 503 or 504 => ConnectCode.Unavailable,
        _ => ConnectCode.Unknown,
    };
}

/// <summary>Options of one call.</summary>
public sealed class ConnectCallOptions
{
    /// <summary>The call's deadline, sent to the server too; null for the transport's default.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Extra request headers of this call.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Headers { get; init; }
}

/// <summary>Settings of a <see cref="ConnectTransport"/>.</summary>
public sealed class ConnectTransportOptions
{
    /// <summary>The HTTP version to ask for. HTTP/1.1 by default; 2.0 for HTTP/2 (with prior knowledge on http://).</summary>
    public Version HttpVersion { get; init; } = System.Net.HttpVersion.Version11;

    /// <summary>How strictly <see cref="HttpVersion"/> applies.</summary>
    public HttpVersionPolicy VersionPolicy { get; init; } = HttpVersionPolicy.RequestVersionOrLower;

    /// <summary>The deadline of calls that do not set their own; null for none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Headers sent with every call, e.g. authorization.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Headers { get; init; }
}

/// <summary>
/// Sends unary Connect calls (binary protobuf) over an <see cref="HttpClient"/>.
/// Thread-safe; share one per server.
/// </summary>
public sealed class ConnectTransport
{
    private const string ProtoContentType = "application/proto";
    private readonly HttpClient _http;
    private readonly string _baseUrl;
    private readonly ConnectTransportOptions _options;

    /// <summary>Creates a transport.</summary>
    /// <param name="http">The client that sends the requests; the transport does not dispose it.</param>
    /// <param name="baseUrl">The server, e.g. <c>http://localhost:8080</c>; a path prefix is kept.</param>
    /// <param name="options">Settings; null for the defaults.</param>
    public ConnectTransport(HttpClient http, Uri baseUrl, ConnectTransportOptions? options = null)
    {
        _http = http ?? throw new ArgumentNullException(nameof(http));
        ArgumentNullException.ThrowIfNull(baseUrl);
        _baseUrl = baseUrl.AbsoluteUri.TrimEnd('/');
        _options = options ?? new ConnectTransportOptions();
    }

    /// <summary>Sends one unary call and returns the decoded response.</summary>
    /// <typeparam name="TRequest">The request message type.</typeparam>
    /// <typeparam name="TResponse">The response message type.</typeparam>
    /// <param name="path">The procedure path, <c>/package.Service/Method</c>.</param>
    /// <param name="request">The request message.</param>
    /// <param name="parser">Parses the response message.</param>
    /// <param name="options">Deadline and headers of this call.</param>
    /// <param name="cancellationToken">Cancels the call; then an <see cref="OperationCanceledException"/> is thrown.</param>
    /// <exception cref="ConnectException">The server answered with an error, the deadline passed, or the server could not be reached.</exception>
    public async Task<TResponse> UnaryAsync<TRequest, TResponse>(
        string path,
        TRequest request,
        MessageParser<TResponse> parser,
        ConnectCallOptions? options,
        CancellationToken cancellationToken)
        where TRequest : IMessage
        where TResponse : IMessage<TResponse>
    {
        ArgumentNullException.ThrowIfNull(request);
        var timeout = options?.Timeout ?? _options.Timeout;
        using var message = new HttpRequestMessage(HttpMethod.Post, _baseUrl + path)
        {
            Version = _options.HttpVersion,
            VersionPolicy = _options.VersionPolicy,
            Content = new ByteArrayContent(request.ToByteArray()),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(ProtoContentType);
        message.Headers.TryAddWithoutValidation("connect-protocol-version", "1");
        AddHeaders(message, _options.Headers);
        AddHeaders(message, options?.Headers);

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout is { } t && t > TimeSpan.Zero && t != Timeout.InfiniteTimeSpan)
        {
            // The header lets the server give up too, instead of working for
            // a caller that has already left.
            var ms = (long)Math.Ceiling(t.TotalMilliseconds);
            message.Headers.TryAddWithoutValidation("connect-timeout-ms", Math.Min(ms, 9_999_999_999L).ToString(CultureInfo.InvariantCulture));
            deadline.CancelAfter(t);
        }

        try
        {
            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, deadline.Token).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(deadline.Token).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw ErrorOf(response, body);
            }
            var contentType = response.Content.Headers.ContentType?.MediaType;
            if (contentType != ProtoContentType)
            {
                throw new ConnectException(ConnectCode.Internal, $"unexpected response content-type {contentType ?? "(none)"}, want {ProtoContentType}") { ResponseHeaders = response.Headers };
            }
            try
            {
                return parser.ParseFrom(body);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new ConnectException(ConnectCode.Internal, $"cannot decode the response: {e.Message}", e);
            }
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's token, so our deadline (or HttpClient.Timeout) fired.
            throw new ConnectException(ConnectCode.DeadlineExceeded, $"{path}: deadline of {timeout?.TotalMilliseconds ?? _http.Timeout.TotalMilliseconds} ms exceeded", e);
        }
        catch (HttpRequestException e)
        {
            // Refused or reset connections: the client-side twin of a server's
            // "unavailable", and just as safe to retry.
            throw new ConnectException(ConnectCode.Unavailable, $"{path}: {e.Message}", e);
        }
    }

    private static void AddHeaders(HttpRequestMessage message, IReadOnlyList<KeyValuePair<string, string>>? headers)
    {
        if (headers is null)
        {
            return;
        }
        foreach (var (name, value) in headers)
        {
            message.Headers.Remove(name);
            message.Headers.TryAddWithoutValidation(name, value);
        }
    }

    /// <summary>The error of a non-200 response: its JSON body if it has one, else the HTTP status.</summary>
    private static ConnectException ErrorOf(HttpResponseMessage response, byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("code", out var code)
                && code.ValueKind == JsonValueKind.String)
            {
                var message = json.RootElement.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                    ? m.GetString() ?? ""
                    : "";
                return new ConnectException(ConnectCodes.FromName(code.GetString()), message) { ResponseHeaders = response.Headers };
            }
        }
        catch (JsonException)
        {
            // Not a Connect error body (e.g. a proxy's HTML page): fall through.
        }
        var status = (int)response.StatusCode;
        return new ConnectException(ConnectCodes.FromHttpStatus(response.StatusCode), $"HTTP {status} {response.ReasonPhrase}") { ResponseHeaders = response.Headers };
    }
}
