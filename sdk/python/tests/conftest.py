"""Live servers for the Python SDK's tests: for each store kind, a
redis-server of the suite's own (for "redis") and a Larder server from the
repository's build (dist/, made by `npm run build`), on free ports. Nothing
is skipped: a missing redis-server or build fails the suite.

Every server runs with a config file that defines commands for the namespace
COMMANDS_NAMESPACE, whose upstream is a local HTTP server of the suite's own
(upstream.py)."""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from upstream import Upstream

REPO = Path(__file__).resolve().parents[3]
# The built server entry that bin/larder.js loads; checked before starting.
SERVER_ENTRY = REPO / "dist" / "app" / "cli.js"
# The SDK is tested from the source tree, not from an installed copy.
sys.path.insert(0, str(REPO / "sdk" / "python"))

#: The namespace whose commands the config file defines.
COMMANDS_NAMESPACE = "py-commands"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, what: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not become ready in {timeout} s")


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class Servers:
    """Processes started for one store kind; stopped in reverse order."""

    def __init__(self) -> None:
        self.procs = []

    def start_redis(self) -> str:
        port = free_port()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--loglevel", "warning"],
                                stdout=subprocess.DEVNULL)
        self.procs.append(proc)
        wait_for(lambda: redis_answers(port), "redis-server", proc)
        return f"redis://127.0.0.1:{port}"

    def start_larder(self, redis_url=None, extra_env=None) -> str:
        if not SERVER_ENTRY.exists():
            raise RuntimeError("the server is not built: run `npm run build` first")
        port = free_port()
        env = {**os.environ, "LARDER_PORT": str(port), "LARDER_HOST": "127.0.0.1", "LARDER_LOG_LEVEL": "info"}
        env.pop("REDIS_URL", None)
        env.pop("LARDER_CONFIG", None)
        if redis_url:
            env["REDIS_URL"] = redis_url
        env.update(extra_env or {})
        log = tempfile.NamedTemporaryFile(prefix="larder-py-", suffix=".log", delete=False)
        proc = subprocess.Popen(["node", str(REPO / "bin" / "larder.js"), "serve"], env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        self.procs.append(proc)
        wait_for(lambda: b"larder listening" in Path(log.name).read_bytes(), "larder", proc)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def commands_config(upstream_url: str) -> dict:
    """The config file's commands: a cached JSON command (with fallback), an
    uncached binary one and an uncached POST that echoes its body. The
    upstream is on loopback, which a command must allow explicitly."""
    common = {"allowPrivateNetwork": True, "timeoutMs": 3000}
    return {"commands": {COMMANDS_NAMESPACE: {
        "order": {**common, "url": f"{upstream_url}/orders/{{id}}", "args": ["id"], "cacheSeconds": 15,
                  "passHeaders": ["x-tenant"]},
        "blob": {**common, "url": f"{upstream_url}/blob/{{id}}", "args": ["id"]},
        "echo": {**common, "method": "POST", "url": f"{upstream_url}/echo"},
    }}}


@pytest.fixture(scope="session")
def upstream():
    """The local HTTP upstream of the configured commands, for the session."""
    server = Upstream()
    try:
        yield server
    finally:
        server.close()


def larder_with_config(store, config, tmp_path_factory, name):
    """Starts Larder on `store` (and its redis-server for "redis") with `config`
    as its larder.json; yields the URL, then stops both."""
    path = tmp_path_factory.mktemp(name) / "larder.json"
    path.write_text(json.dumps(config))
    servers = Servers()
    try:
        redis_url = servers.start_redis() if store == "redis" else None
        yield servers.start_larder(redis_url, {"LARDER_CONFIG": str(path)})
    finally:
        servers.stop()


@pytest.fixture(scope="session", params=["memory", "redis"])
def larder_url(request, upstream, tmp_path_factory):
    """The URL of a live Larder server, once per store kind."""
    yield from larder_with_config(request.param, commands_config(upstream.url), tmp_path_factory, "config")


@pytest.fixture
def namespace(request) -> str:
    """A namespace no other test uses."""
    return f"py-{os.urandom(6).hex()}"
