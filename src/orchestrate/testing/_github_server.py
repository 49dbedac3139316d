"""The HTTP server under the fake GitHub: a thread on 127.0.0.1, one handler thread per
connection, every method handed to one ``answer`` function.

Same habits as the fake model servers (``_fake_server``): keep-alive as the clients'
pools expect, TCP_NODELAY, a deep accept backlog, and idle connections closed on stop
so their handler threads end.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from orchestrate.testing._fake_server import _close_quietly, _Server
from orchestrate.testing._github_http import Answer

Answerer = Callable[[str, str, dict[str, str], bytes], Answer]
"""(method, path with query, lower-case headers, raw body) to the answer."""


class ThreadedServer:
    def __init__(self, answer: Answerer, *, name: str) -> None:
        self.answer = answer
        self.name = name
        self.lock = threading.Lock()
        self.connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def origin(self) -> str:
        if self._httpd is None:
            raise RuntimeError(f"The {self.name} server is not running; use it in `with`.")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"server_of": self})
        self._httpd = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=self.name,
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        with self.lock:
            for connection in list(self.connections):
                _close_quietly(connection)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    server_of: ClassVar[ThreadedServer]
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        with self.server_of.lock:
            self.server_of.connections.add(self.connection)

    def finish(self) -> None:
        with self.server_of.lock:
            self.server_of.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server_of.answer(self.command, self.path, headers, raw)
        body = answer.body
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(answer.status)
        self.send_header("content-type", answer.content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Tests read the fake's recorded calls instead of the access log."""
