using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Larder.Client.Tests.Fixtures;

/// <summary>
/// A tiny HTTP server on 127.0.0.1 that stands in for the upstream APIs of
/// the command tests. Every path carries an id, so that tests sharing it
/// never share hit counts or failures:
/// <list type="bullet">
/// <item><c>/items/{id}</c>: JSON <c>{"id","hits"}</c>, or 503 while <see cref="Fail"/> is on for the id.</item>
/// <item><c>/echo/{id}</c>: JSON of what arrived: method, content type, two headers, body (base64).</item>
/// <item><c>/bytes/{id}</c>: four binary bytes.</item>
/// <item><c>/status/{code}</c>: that status with a small JSON error body.</item>
/// <item><c>/slow/{ms}</c>: answers after that many milliseconds.</item>
/// <item><c>/reflect/{id}</c>: the request body as it arrived, with its content type (the scenarios' <c>echo</c>).</item>
/// </list>
/// </summary>
internal sealed class Upstream : IAsyncDisposable
{
    public static readonly byte[] Bytes = [0, 1, 2, 255];

    private readonly HttpListener _listener;
    private readonly Task _loop;
    private readonly ConcurrentDictionary<string, int> _hits = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _failing = new(StringComparer.Ordinal);

    private Upstream(HttpListener listener, int port)
    {
        _listener = listener;
        Origin = $"http://127.0.0.1:{port}";
        _loop = Task.Run(Serve);
    }

    /// <summary>Scheme, host and port, e.g. <c>http://127.0.0.1:23456</c>.</summary>
    public string Origin { get; }

    public static Upstream Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = Ports.Free();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
                return new Upstream(listener, port);
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                // Taken between the check and the bind; try another port.
                listener.Close();
            }
        }
    }

    /// <summary>How many requests reached <c>/items/{id}</c>.</summary>
    public int Hits(string id) => _hits.GetValueOrDefault(id);

    /// <summary>Makes <c>/items/{id}</c> answer 503 (true) or succeed again (false).</summary>
    public void Fail(string id, bool failing = true) => _failing[id] = failing;

    private async Task Serve()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            _ = Task.Run(() => Answer(context));
        }
    }

    private async Task Answer(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            var parts = request.Url!.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
            var (kind, id) = parts.Length == 2 ? (parts[0], Uri.UnescapeDataString(parts[1])) : ("", "");
            switch (kind)
            {
                case "items":
                    var hits = _hits.AddOrUpdate(id, 1, (_, n) => n + 1);
                    if (_failing.GetValueOrDefault(id))
                    {
                        await Send(response, 503, "text/plain", "upstream down"u8.ToArray());
                        break;
                    }
                    response.Headers["x-upstream-hits"] = hits.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await SendJson(response, 200, new { id, hits });
                    break;
                case "echo":
                    using (var body = new MemoryStream())
                    {
                        await request.InputStream.CopyToAsync(body);
                        await SendJson(response, 200, new
                        {
                            method = request.HttpMethod,
                            contentType = request.ContentType,
                            tenant = request.Headers["x-tenant"],
                            other = request.Headers["x-other"],
                            body = Convert.ToBase64String(body.ToArray()),
                        });
                    }
                    break;
                case "reflect":
                    using (var body = new MemoryStream())
                    {
                        await request.InputStream.CopyToAsync(body);
                        await Send(response, 200, request.ContentType ?? "application/octet-stream", body.ToArray());
                    }
                    break;
                case "bytes":
                    await Send(response, 200, "application/octet-stream", Bytes);
                    break;
                case "status":
                    await SendJson(response, int.Parse(id, System.Globalization.CultureInfo.InvariantCulture), new { error = $"status {id}" });
                    break;
                case "slow":
                    await Task.Delay(int.Parse(id, System.Globalization.CultureInfo.InvariantCulture));
                    await SendJson(response, 200, new { slept = id });
                    break;
                default:
                    await Send(response, 404, "text/plain", "no such path"u8.ToArray());
                    break;
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException)
        {
            // The caller (the Larder server) gave up, e.g. on its timeout.
        }
    }

    private static Task SendJson(HttpListenerResponse response, int status, object body) =>
        Send(response, status, "application/json", JsonSerializer.SerializeToUtf8Bytes(body));

    private static async Task Send(HttpListenerResponse response, int status, string contentType, byte[] body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop;
    }

    /// <summary>The echo answer, for tests to read.</summary>
    public sealed record Echo(string Method, string? ContentType, string? Tenant, string? Other, string Body)
    {
        public byte[] BodyBytes => Convert.FromBase64String(Body);

        public string BodyText => Encoding.UTF8.GetString(BodyBytes);
    }
}
