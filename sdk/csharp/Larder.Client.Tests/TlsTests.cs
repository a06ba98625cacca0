using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Larder.Client.Tests.Fixtures;

namespace Larder.Client.Tests;

/// <summary>
/// Certificates made for the run by scripts/test-certs.sh, and two servers
/// on the memory store: one with TLS, one that also requires client
/// certificates from the same CA (mTLS).
/// </summary>
public sealed class TlsFixture : IAsyncLifetime
{
    private LarderServer? _tls;
    private LarderServer? _mtls;

    public string Dir { get; } = Directory.CreateTempSubdirectory("larder-cs-certs-").FullName;

    public string Url => _tls?.Url ?? throw new InvalidOperationException("not started");

    public string MtlsUrl => _mtls?.Url ?? throw new InvalidOperationException("not started");

    public X509Certificate2 Ca => X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(Dir, "ca.crt")));

    public async Task InitializeAsync()
    {
        using (var script = Process.Start(new ProcessStartInfo("bash", [Path.Combine(Repo.Root, "scripts", "test-certs.sh"), Dir]) { RedirectStandardError = true })!)
        {
            await script.WaitForExitAsync();
            if (script.ExitCode != 0)
            {
                throw new InvalidOperationException($"test-certs.sh failed: {await script.StandardError.ReadToEndAsync()}");
            }
        }
        var env = new Dictionary<string, string?>
        {
            ["LARDER_TLS_CERT"] = Path.Combine(Dir, "server.crt"),
            ["LARDER_TLS_KEY"] = Path.Combine(Dir, "server.key"),
        };
        _tls = await LarderServer.Start(null, extraEnv: env);
        _mtls = await LarderServer.Start(null, extraEnv: new Dictionary<string, string?>(env) { ["LARDER_TLS_CLIENT_CA"] = Path.Combine(Dir, "ca.crt") });
    }

    public async Task DisposeAsync()
    {
        if (_tls is not null)
        {
            await _tls.DisposeAsync();
        }
        if (_mtls is not null)
        {
            await _mtls.DisposeAsync();
        }
        Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>The client over https://: a private CA, a client certificate, and the refusals.</summary>
public sealed class TlsTests(TlsFixture certs) : IClassFixture<TlsFixture>
{
    private static string Namespace() => $"cs-tls-{Guid.NewGuid():N}";

    private X509Certificate2 ClientCertificate() =>
        X509Certificate2.CreateFromPemFile(Path.Combine(certs.Dir, "client.crt"), Path.Combine(certs.Dir, "client.key"));

    [Fact]
    public async Task Works_over_https_with_a_private_root()
    {
        using var cache = new LarderCache(new LarderOptions { Url = certs.Url, Namespace = Namespace(), RootCertificate = certs.Ca });
        await cache.Set("k", new Dictionary<string, string> { ["over"] = "tls" }, 60);
        var got = await cache.Get<Dictionary<string, string>>("k");
        Assert.Equal("tls", got!["over"]);
    }

    [Fact]
    public async Task Refuses_a_server_signed_by_another_CA()
    {
        using var other = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(certs.Dir, "other-ca.crt")));
        using var cache = new LarderCache(new LarderOptions { Url = certs.Url, Namespace = Namespace(), RootCertificate = other, Retries = 0 });
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<string>("k"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
    }

    [Fact]
    public async Task Refuses_a_private_CA_with_the_system_roots_alone()
    {
        using var cache = new LarderCache(new LarderOptions { Url = certs.Url, Namespace = Namespace(), Retries = 0 });
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<string>("k"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
    }

    [Fact]
    public async Task Presents_a_client_certificate_to_a_server_that_requires_one()
    {
        using var cache = new LarderCache(new LarderOptions
        {
            Url = certs.MtlsUrl, Namespace = Namespace(), RootCertificate = certs.Ca, ClientCertificate = ClientCertificate(),
        });
        await cache.Set("m", 1, 60);
        Assert.Equal(1, await cache.Get<int>("m"));
    }

    [Fact]
    public async Task Is_refused_without_a_client_certificate_where_one_is_required()
    {
        using var cache = new LarderCache(new LarderOptions { Url = certs.MtlsUrl, Namespace = Namespace(), RootCertificate = certs.Ca, Retries = 0 });
        var e = await Assert.ThrowsAsync<LarderException>(() => cache.Get<int>("m"));
        Assert.Equal(StatusCode.Unavailable, e.StatusCode);
    }

    [Fact]
    public void Certificates_need_https_and_no_HttpClient_of_the_caller()
    {
        var http = Assert.Throws<ArgumentException>(() => new LarderCache(new LarderOptions { Url = "http://127.0.0.1:1", RootCertificate = certs.Ca }));
        Assert.Contains("https://", http.Message, StringComparison.Ordinal);
        using var client = new HttpClient();
        Assert.Throws<ArgumentException>(() => new LarderCache(new LarderOptions { Url = "https://127.0.0.1:1", RootCertificate = certs.Ca, HttpClient = client }));
    }
}
