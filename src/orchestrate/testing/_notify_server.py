"""What the fake notification receivers share (Slack, PagerDuty, a webhook receiver): a
real HTTP server on 127.0.0.1 that records every request and can be told to fail.

``fail_next(n, status, retry_after=…)`` makes the next ``n`` requests fail with that
status (and a ``Retry-After`` header), ``drop_next(n)`` closes the connection without
an answer; failed requests are recorded too, in ``requests``, each with the monotonic
time it arrived, so a test can measure the wait between attempts.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from orchestrate.testing._http_server import InBackground, ThreadedServer


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the receiver saw it; ``answered`` is the status it got (0: dropped)."""

    method: str
    path: str
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes
    arrived: float
    """``time.monotonic()`` when it arrived."""
    answered: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Failure:
    status: int
    retry_after: float | None
    body: Any


class FakeReceiver(InBackground):
    """Answers every ``POST`` at ``path`` with ``accept``'s answer unless told to fail."""

    name = "fake-receiver"
    path = "/"

    def __init__(self) -> None:
        self._server = ThreadedServer(self._respond, name=self.name)
        self._lock = threading.Lock()
        self._failures: deque[_Failure | None] = deque()
        self.requests: list[ReceivedRequest] = []

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def origin(self) -> str:
        return self._server.origin

    @property
    def url(self) -> str:
        return self.origin + self.path

    def fail_next(
        self, count: int, status: int, *, retry_after: float | None = None, body: Any = None
    ) -> None:
        """Answer the next ``count`` requests with ``status`` instead of accepting them."""
        with self._lock:
            for _ in range(count):
                self._failures.append(_Failure(status, retry_after, body or {"error": "failed"}))

    def drop_next(self, count: int) -> None:
        """Close the connection of the next ``count`` requests without answering."""
        with self._lock:
            self._failures.extend([None] * count)

    @property
    def accepted(self) -> list[ReceivedRequest]:
        """The requests that were answered with a 2xx."""
        with self._lock:
            return [r for r in self.requests if 200 <= r.answered < 300]

    def accept(self, body: bytes, headers: dict[str, str]) -> Answer:
        """The answer to a request that is not failed on purpose (vendor specifics)."""
        return Answer(200, "ok")

    def _respond(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
        arrived = time.monotonic()
        with self._lock:
            failure = self._failures.popleft() if self._failures else _NO_FAILURE
        answer: Answer | None
        if failure is None:
            answer = None
        elif failure is not _NO_FAILURE:
            extra = {} if failure.retry_after is None else {"retry-after": str(failure.retry_after)}
            answer = Answer(failure.status, failure.body, extra)
        elif method != "POST" or path.split("?")[0] != self.path:
            answer = Answer(404, {"error": f"no route {method} {path}"})
        else:
            answer = self.accept(body, headers)
        with self._lock:
            self.requests.append(
                ReceivedRequest(
                    method, path, headers, body, arrived, 0 if answer is None else answer.status
                )
            )
        return answer


_NO_FAILURE = _Failure(0, None, None)
