"""The Python SDK over TLS: https:// URLs with a private CA, a client
certificate for a server that requires one (mTLS), and the refusals. The
certificates are made for the run by scripts/test-certs.sh."""

import asyncio
import subprocess

import grpc
import pytest

import larder
from conftest import REPO, Servers


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A CA with a server and a client certificate, and an unrelated CA."""
    out = tmp_path_factory.mktemp("certs")
    subprocess.run(["bash", str(REPO / "scripts" / "test-certs.sh"), str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def tls_urls(certs):
    """A server with TLS, and one that also requires client certificates
    from the CA, both on the memory store: (url, mtls_url)."""
    servers = Servers()
    env = {"LARDER_TLS_CERT": str(certs / "server.crt"), "LARDER_TLS_KEY": str(certs / "server.key")}
    try:
        url = servers.start_larder(None, env)
        mtls_url = servers.start_larder(None, {**env, "LARDER_TLS_CLIENT_CA": str(certs / "ca.crt")})
        yield url.replace("http://", "https://"), mtls_url.replace("http://", "https://")
    finally:
        servers.stop()


def test_https_with_a_private_ca_from_a_file(tls_urls, certs, namespace):
    with larder.Cache(tls_urls[0], namespace=namespace, tls=larder.TLS(ca=str(certs / "ca.crt"))) as cache:
        cache.set("k", {"over": "tls"}, ttl=60)
        assert cache.get("k") == {"over": "tls"}
        assert cache.increment("n", 2, ttl=60) == 2


def test_async_https_with_the_ca_as_bytes(tls_urls, certs, namespace):
    async def main():
        ca = (certs / "ca.crt").read_bytes()
        async with larder.AsyncCache(tls_urls[0], namespace=namespace, tls=larder.TLS(ca=ca)) as cache:
            await cache.set("k", [1, 2], ttl=60)
            return await cache.get("k")

    assert asyncio.run(main()) == [1, 2]


def test_ready_made_channel_credentials(tls_urls, certs, namespace):
    creds = grpc.ssl_channel_credentials(root_certificates=(certs / "ca.crt").read_bytes())
    with larder.Cache(tls_urls[0], namespace=namespace, tls=creds) as cache:
        assert cache.has("missing") is False


def test_refuses_a_server_signed_by_another_ca(tls_urls, certs, namespace):
    with larder.Cache(tls_urls[0], namespace=namespace, retries=0, timeout=3,
                      tls=larder.TLS(ca=str(certs / "other-ca.crt"))) as cache:
        with pytest.raises(larder.LarderError) as caught:
            cache.get("k")
    assert caught.value.code == "UNAVAILABLE"


def test_mtls_with_and_without_a_client_certificate(tls_urls, certs, namespace):
    mine = larder.TLS(ca=str(certs / "ca.crt"), cert=str(certs / "client.crt"), key=str(certs / "client.key"))
    with larder.Cache(tls_urls[1], namespace=namespace, tls=mine) as cache:
        cache.set("m", True, ttl=60)
        assert cache.get("m") is True
    with larder.Cache(tls_urls[1], namespace=namespace, retries=0, timeout=3,
                      tls=larder.TLS(ca=str(certs / "ca.crt"))) as cache:
        with pytest.raises(larder.LarderError) as caught:
            cache.get("m")
    assert caught.value.code == "UNAVAILABLE"


def test_local_refusals():
    with pytest.raises(larder.LarderError, match="tls: needs an https:// URL"):
        larder.Cache("http://127.0.0.1:1", tls=larder.TLS())
    with pytest.raises(larder.LarderError, match=r"tls\.key: is required with tls\.cert"):
        larder.Cache("https://127.0.0.1:1", tls=larder.TLS(cert=b"x"))
    with pytest.raises(larder.LarderError, match=r"tls\.ca: cannot read /nonexistent"):
        larder.Cache("https://127.0.0.1:1", tls=larder.TLS(ca="/nonexistent/ca.pem"))
