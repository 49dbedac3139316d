"""The fake GitLab's HTTP side: the server thread, tokens, scripted failures, the record.

``GitLabServer`` serves a ``World`` (``_gitlab_state``) through the endpoints of
``_gitlab_api``; ``FakeGitLab`` adds the methods tests arrange and inspect it with.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from orchestrate.testing import _gitlab_api as api
from orchestrate.testing._gitlab_state import World
from orchestrate.testing._http_server import InBackground, ThreadedServer

DEFAULT_TOKEN = "glpat-fake-orchestrate"  # noqa: S105 - a fake's token
DEFAULT_USER = "orchestrate-bot"
_API_PREFIX = "/api/v4/"


@dataclass
class Failure:
    """Answer the next ``times`` matching requests with ``status`` (0: drop the
    connection) instead of serving them. ``path`` matches a substring of the raw path."""

    status: int
    times: int = 1
    method: str | None = None
    path: str | None = None
    retry_after: float | None = None
    rate_limit_reset_in: float | None = None
    body: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path is None or self.path in path
        )


@dataclass(frozen=True)
class GitLabRequest:
    """A request the fake received and the status it answered (0: dropped)."""

    method: str
    path: str
    query: Mapping[str, str]
    body: Any
    headers: Mapping[str, str] = field(repr=False)
    status: int
    received_at: float


class GitLabServer(InBackground):
    """GitLab on 127.0.0.1; ``url`` is what python-gitlab takes, ``token`` its token."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, username: str = DEFAULT_USER) -> None:
        self.token = token
        self.requests: list[GitLabRequest] = []
        self._world = World()
        self._world.users_by_token[token] = self._world.user(username)
        self._failures: list[Failure] = []
        self._lock = threading.RLock()
        self._server = ThreadedServer(self.serve, name="fake-gitlab")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        if not self._server.running:
            self._server.start()
            self._world.origin = self.url
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.origin

    # -- scripted failures -----------------------------------------------------------------

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
        rate_limit_reset_in: float | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``: 429 with
        ``Retry-After: retry_after`` or ``RateLimit-Reset`` ``rate_limit_reset_in``
        seconds from now, 502/503/504 as a proxy would."""
        with self._lock:
            self._failures.append(
                Failure(status, times, method, path, retry_after, rate_limit_reset_in)
            )

    def disconnect(
        self, *, times: int = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Drop the next ``times`` matching requests' connections without answering."""
        self.fail(0, times=times, method=method, path=path)

    def calls(self, method: str | None = None, path: str | None = None) -> list[GitLabRequest]:
        """Recorded requests, filtered by method and a substring of the raw path."""
        with self._lock:
            return [
                request
                for request in self.requests
                if (method is None or request.method == method)
                and (path is None or path in request.path)
            ]

    # -- serving ---------------------------------------------------------------------------

    def serve(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> api.Reply | None:
        """The answer to one request; None to drop the connection."""
        received_at = time.monotonic()
        split = urlsplit(target)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        body: Any = None
        with self._lock:
            try:
                body = json.loads(raw) if raw else None
                reply = self._answer(method, split.path, query, headers, body)
            except ValueError:
                reply = api.Reply(400, {"message": "400 Bad request - the body is not JSON"})
            status = 0 if reply is None else reply.status
            self.requests.append(
                GitLabRequest(method, split.path, query, body, dict(headers), status, received_at)
            )
        return reply

    def _answer(
        self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str], body: Any
    ) -> api.Reply | None:
        failure = self._scripted_failure(method, path)
        if failure is not None:
            return None if failure.status == 0 else _failure_reply(failure)
        user = self._world.users_by_token.get(_token(headers))
        if user is None:
            return api.Reply(401, {"message": "401 Unauthorized"})
        if not path.startswith(_API_PREFIX):
            return api.Reply(404, {"message": "404 Not Found"})
        segments = tuple(unquote(part) for part in path[len(_API_PREFIX) :].split("/") if part)
        params: dict[str, Any] = dict(query)
        if isinstance(body, dict):
            params |= body
        return api.handle(self._world, api.Call(method, path, segments, params, user))

    def _scripted_failure(self, method: str, path: str) -> Failure | None:
        for failure in self._failures:
            if failure.times > 0 and failure.matches(method, path):
                failure.times -= 1
                return failure
        return None


def _token(headers: Mapping[str, str]) -> str:
    token = headers.get("private-token", "")
    scheme, _, bearer = headers.get("authorization", "").partition(" ")
    return token or (bearer.strip() if scheme.lower() == "bearer" else "")


def _failure_reply(failure: Failure) -> api.Reply:
    headers: dict[str, str] = {}
    if failure.retry_after is not None:
        seconds = failure.retry_after
        headers["Retry-After"] = str(int(seconds)) if float(seconds).is_integer() else str(seconds)
    if failure.rate_limit_reset_in is not None:
        headers["RateLimit-Reset"] = str(int(time.time() + failure.rate_limit_reset_in))
    if failure.status == 429:
        headers |= {"RateLimit-Limit": "600", "RateLimit-Remaining": "0"}
        return api.Reply(429, "Retry later\n", headers)
    return api.Reply(failure.status, f"{failure.status} GitLab is not responding\n", headers)
