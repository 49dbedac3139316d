"""The HTTP server under every fake (model APIs, GitHub, GitLab): a thread on 127.0.0.1,
one handler thread per connection, every request handed to one ``respond`` function.

The habits the real clients need: keep-alive (HTTP/1.1), as the SDKs' connection pools
expect; TCP_NODELAY, since without it each answer waits for the client's delayed ACK
(~40 ms); an accept backlog of 256, since bursts of connects from many agents overflow
the default of 5 (a 1 s SYN retry); and idle keep-alive connections closed on stop, so
their handler threads end. The server runs in a background thread, so one fake serves
sync tests, async tests and benchmarks alike.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, ClassVar, Protocol, Self


class Reply(Protocol):
    """What a fake answers: a status, a body (text and bytes are sent as they are,
    anything else as JSON), headers, and optionally a ``content_type`` to send instead of
    the default."""

    @property
    def status(self) -> int: ...

    @property
    def body(self) -> Any: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


Responder = Callable[[str, str, dict[str, str], bytes], Reply | None]
"""(method, path with query, lower-case headers, raw body) to the reply; None drops the
connection without an answer (a fake's way to play a network failure)."""


class ThreadedServer:
    """Serves ``respond`` on 127.0.0.1 from ``start`` until ``stop``."""

    def __init__(self, respond: Responder, *, name: str) -> None:
        self.respond = respond
        self.name = name
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"The {self.name} server is not running; use it in `with`.")
        return int(self._httpd.server_address[1])

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._httpd is not None:
            return
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
        with self._lock:
            for connection in list(self._connections):
                close_quietly(connection)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


class InBackground:
    """``with fake:`` / ``async with fake:`` around a fake's ``start`` and ``stop``."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()


def close_quietly(connection: socket.socket) -> None:
    """Shut a connection down for both sides, whatever state it is in."""
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    request_queue_size = 256
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True
    server_of: ClassVar[ThreadedServer]
    protocol_version = "HTTP/1.1"
    timeout = 30

    def setup(self) -> None:
        super().setup()
        self.server_of._opened(self.connection)

    def finish(self) -> None:
        self.server_of._closed(self.connection)
        with contextlib.suppress(OSError):
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
        reply = self.server_of.respond(self.command, self.path, headers, raw)
        if reply is None:
            self.close_connection = True
            close_quietly(self.connection)
            return
        body = reply.body
        if isinstance(body, bytes):
            payload, content_type = body, "application/octet-stream"
        elif isinstance(body, str):
            payload, content_type = body.encode(), "text/plain; charset=utf-8"
        else:
            payload, content_type = json.dumps(body).encode(), "application/json"
        self.send_response(reply.status)
        self.send_header("content-type", getattr(reply, "content_type", None) or content_type)
        self.send_header("content-length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Tests read the fakes' recorded requests instead of an access log."""
