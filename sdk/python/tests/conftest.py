"""Live servers for the Python SDK's tests: for each store kind, a
redis-server of the suite's own (for "redis") and a Larder server from the
repository's build (dist/, made by `npm run build`), on free ports. Nothing
is skipped: a missing redis-server or build fails the suite."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
# The SDK is tested from the source tree, not from an installed copy.
sys.path.insert(0, str(REPO / "sdk" / "python"))


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

    def start_larder(self, redis_url=None) -> str:
        if not (REPO / "dist" / "app" / "cli.js").exists():
            raise RuntimeError("the server is not built: run `npm run build` first")
        port = free_port()
        env = {**os.environ, "LARDER_PORT": str(port), "LARDER_HOST": "127.0.0.1", "LARDER_LOG_LEVEL": "info"}
        env.pop("REDIS_URL", None)
        if redis_url:
            env["REDIS_URL"] = redis_url
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


@pytest.fixture(scope="session", params=["memory", "redis"])
def larder_url(request):
    """The URL of a live Larder server, once per store kind."""
    servers = Servers()
    try:
        redis_url = servers.start_redis() if request.param == "redis" else None
        yield servers.start_larder(redis_url)
    finally:
        servers.stop()


@pytest.fixture
def namespace(request) -> str:
    """A namespace no other test uses."""
    return f"py-{os.urandom(6).hex()}"
