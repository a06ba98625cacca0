using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Larder.Client;

/// <summary>Options of <see cref="LarderCache"/>.</summary>
public sealed class LarderOptions
{
    /// <summary>The Larder server, e.g. <c>http://localhost:8080</c>. Required.</summary>
    public string Url { get; set; } = "";

    /// <summary>
    /// An API key, sent as <c>authorization: Bearer &lt;key&gt;</c>. Needed when
    /// the server has auth on; the key then also decides the namespace.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The namespace to act in, sent as the <c>larder-namespace</c> header.
    /// Only honoured when the server has auth off; default <c>default</c>.
    /// </summary>
    public string? Namespace { get; set; }

    /// <summary>The deadline of each call attempt. Default 5 seconds.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many times a call that is safe to repeat is retried after the
    /// server answered <see cref="StatusCode.Unavailable"/> or could not be
    /// reached. Default 2; 0 disables retries.
    /// </summary>
    public int Retries { get; set; } = 2;

    /// <summary>
    /// How values are serialized. Default: <see cref="JsonSerializerDefaults.Web"/>,
    /// which reads the camelCase JSON the TypeScript SDK writes into PascalCase
    /// C# properties and writes camelCase back, with relaxed escaping so that
    /// stored JSON stays readable (<c>"+46…"</c>, not <c>"\u002B46…"</c>).
    /// </summary>
    public JsonSerializerOptions? JsonSerializerOptions { get; set; }

    /// <summary>
    /// Ignored. The client speaks gRPC (Grpc.Net.Client), which always runs on
    /// HTTP/2, with prior knowledge on <c>http://</c>. It chose between
    /// HTTP/1.1 and HTTP/2 when the client spoke the Connect protocol, and
    /// stays so that code and configuration that set it keep working.
    /// </summary>
    [Obsolete("Ignored: calls always use HTTP/2, which gRPC requires.")]
    public bool Http2 { get; set; }

    /// <summary>
    /// An HttpClient to send calls with, e.g. one with a custom handler. Its
    /// handler must speak HTTP/2 (<see cref="SocketsHttpHandler"/> does). The
    /// cache does not dispose it. Its own <see cref="HttpClient.Timeout"/>
    /// should be longer than <see cref="Timeout"/>.
    /// </summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>
    /// The CA certificate to trust for an <c>https://</c> server instead of
    /// the system roots, e.g. a private CA: the server's chain must end at
    /// it, and its name must still match the URL's host. Default null: the
    /// system roots. Not with <see cref="HttpClient"/>, whose handler decides.
    /// </summary>
    public X509Certificate2? RootCertificate { get; set; }

    /// <summary>
    /// A client certificate with its private key (e.g.
    /// <see cref="X509Certificate2.CreateFromPemFile(string, string?)"/>), for
    /// a server that requires one (mTLS). Default null: none. Not with
    /// <see cref="HttpClient"/>, whose handler decides.
    /// </summary>
    public X509Certificate2? ClientCertificate { get; set; }

    /// <summary>
    /// How long <see cref="LarderCache.GetOrSet{T}(string, Func{CancellationToken, Task{T}}, TimeSpan?, CancellationToken)"/>
    /// waits for another process computing the same key before it throws
    /// <see cref="LarderLockNotAcquiredException"/>. Raise it when factories
    /// take longer. Default 10 seconds, as in the TypeScript SDK.
    /// </summary>
    public TimeSpan ComputeLockWait { get; set; } = TimeSpan.FromSeconds(10);
}
