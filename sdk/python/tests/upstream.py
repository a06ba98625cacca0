"""A local HTTP upstream for the RunCommand tests, in a thread: the server's
configured commands call it on loopback. An order id can be switched to
failing to drive the server's cache fallback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Set

#: The body of GET /blob/<id>: every byte value, so not UTF-8.
BLOB = bytes(range(256))


class Upstream:
    """GET /orders/<id> answers JSON with a per-id hit count (503 while the
    id is failing); GET /blob/<id> answers BLOB; POST /echo returns its body
    and content type."""

    def __init__(self) -> None:
        self.hits: Dict[str, int] = {}
        self.failing: Set[str] = set()
        self._lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                parts = self.path.split("/")
                if len(parts) == 3 and parts[1] == "orders":
                    upstream._order(self, parts[2])
                elif len(parts) == 3 and parts[1] == "blob":
                    self._send(200, "application/octet-stream", BLOB)
                else:
                    self._send(404, "text/plain", b"no such path")

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                self._send(200, self.headers.get("content-type") or "application/octet-stream", body)

            def _send(self, status: int, content_type: str, body: bytes, extra: Dict[str, str] = None) -> None:
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _order(self, handler, order_id: str) -> None:
        with self._lock:
            self.hits[order_id] = self.hits.get(order_id, 0) + 1
            hit = self.hits[order_id]
            failing = order_id in self.failing
        if failing:
            handler._send(503, "text/plain", b"upstream down")
            return
        body = json.dumps({"id": order_id, "hit": hit, "tenant": handler.headers.get("x-tenant")}).encode()
        handler._send(200, "application/json", body, {"x-upstream": "test"})

    def set_failing(self, order_id: str, failing: bool) -> None:
        with self._lock:
            (self.failing.add if failing else self.failing.discard)(order_id)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
