"""What both fake model servers share: a threaded HTTP server on 127.0.0.1 that plays a script.

The server runs in a background thread, so the same object works in sync tests, async
tests and benchmarks; each request is answered on its own thread, so a slow step does
not hold up others. Vendor specifics (endpoint, headers, body validation, JSON shapes)
live in ``fake_anthropic`` and ``fake_openai``.
"""

from __future__ import annotations

import json
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from orchestrate.llm.models import CompletionResponse
from orchestrate.testing._http_server import InBackground, ThreadedServer

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class ErrorReply:
    """An HTTP error the server answers with instead of a completion.

    ``message`` and ``type`` default to what the vendor says for ``status``; ``code``
    ``"context_length_exceeded"`` selects the vendor's prompt-too-long error.
    ``retry_after`` (seconds, fractions allowed) sets ``retry-after`` and, when it is
    not whole, ``retry-after-ms``, which both SDKs prefer.
    """

    status: int
    message: str | None = None
    type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def response_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.retry_after is not None:
            headers["retry-after"] = str(math.ceil(self.retry_after))
            if not float(self.retry_after).is_integer():
                headers["retry-after-ms"] = str(round(self.retry_after * 1000))
        return headers


def rate_limited(retry_after: float | None = 1.0) -> ErrorReply:
    """429: too many requests; the SDKs wait ``retry_after`` seconds and try again."""
    return ErrorReply(429, retry_after=retry_after)


def overloaded(retry_after: float | None = None) -> ErrorReply:
    """529: Anthropic's "overloaded_error", retried by the SDK with backoff."""
    return ErrorReply(529, retry_after=retry_after)


def server_error(status: int = 500, retry_after: float | None = None) -> ErrorReply:
    """A 5xx the SDKs retry; give ``retry_after`` a small value to keep tests fast."""
    return ErrorReply(status, retry_after=retry_after)


def context_length_exceeded(message: str | None = None) -> ErrorReply:
    """400: the prompt is longer than the model's context window, worded like the vendor."""
    return ErrorReply(400, message=message, code="context_length_exceeded")


@dataclass(frozen=True)
class Delayed:
    """Answer with ``step`` after ``seconds`` (on top of the server's ``latency``)."""

    step: Step
    seconds: float


Reply = CompletionResponse | ErrorReply | JsonObject
"""A completion rendered in the vendor's JSON, an error, or raw vendor JSON sent as is."""

Step = CompletionResponse | ErrorReply | Delayed | Callable[[JsonObject], Reply]
"""One scripted answer; a callable gets the request body and returns a ``Reply``."""


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server received, and the status it answered with."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    status: int
    received_at: float
    """``time.monotonic()`` when the request arrived, to measure waits between retries."""


class FakeModelServer(InBackground, ABC):
    """A vendor API on 127.0.0.1 driven by a script of steps, one step per valid request.

    Requests the vendor would reject (bad credentials, malformed body) are answered with
    the vendor's error and do not use up a step. When the script is exhausted the server
    answers with ``when_exhausted`` if given (e.g. ``finish()`` for endless benchmark
    runs), else with a 400 saying so.
    """

    vendor: ClassVar[str] = "model"
    path: ClassVar[str] = "/"

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        api_key: str | None = "test-key",
        latency: float = 0.0,
        when_exhausted: Step | None = None,
    ) -> None:
        self.api_key = api_key
        self.latency = latency
        self.when_exhausted = when_exhausted
        self.requests: list[RecordedRequest] = []
        self._steps: deque[Step] = deque(script)
        self._lock = threading.Lock()
        self._server = ThreadedServer(self.answer, name=f"fake-{self.vendor}")

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Self:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- script ----------------------------------------------------------------------------

    def add(self, *steps: Step) -> None:
        with self._lock:
            self._steps.extend(steps)

    @property
    def remaining(self) -> int:
        return len(self._steps)

    @property
    def bodies(self) -> list[Any]:
        """Bodies of the requests that were answered with a completion (status 200)."""
        return [request.body for request in self.requests if request.status == 200]

    # -- vendor hooks ----------------------------------------------------------------------

    @abstractmethod
    def check(self, headers: Mapping[str, str], body: Any) -> ErrorReply | None:
        """Reject what the vendor would reject: credentials, headers, the body."""

    @abstractmethod
    def render(self, response: CompletionResponse, body: JsonObject) -> JsonObject:
        """``response`` as the vendor's JSON for a request with ``body``."""

    @abstractmethod
    def render_error(self, error: ErrorReply) -> JsonObject:
        """``error`` in the vendor's error shape."""

    # -- request handling ------------------------------------------------------------------

    def answer(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> _Answer:
        received_at = time.monotonic()
        body: Any = None
        try:
            body = json.loads(raw) if raw else None
            problem = self._problem(method, path, headers, body)
        except ValueError:
            problem = ErrorReply(400, message="The request body is not valid JSON.")
        if problem is not None:
            reply: Reply = problem
            delay = 0.0
        else:
            reply, delay = self._next_reply(body)
        answer = self._render_reply(reply, body)
        with self._lock:
            self.requests.append(
                RecordedRequest(method, path, dict(headers), body, answer.status, received_at)
            )
        if delay > 0:
            time.sleep(delay)
        return answer

    def _problem(
        self, method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> ErrorReply | None:
        if method != "POST" or path.split("?")[0] != self.path:
            return ErrorReply(
                404, message=f"Not found: {method} {path}; the fake serves POST {self.path}."
            )
        return self.check(headers, body)

    def _next_reply(self, body: JsonObject) -> tuple[Reply, float]:
        with self._lock:
            step = self._steps.popleft() if self._steps else self.when_exhausted
            served = len(self.requests)
        if step is None:
            message = (
                f"The fake {self.vendor} script is exhausted ({served} requests so far); "
                "add steps or pass when_exhausted."
            )
            return ErrorReply(400, message=message), 0.0
        delay = self.latency
        while isinstance(step, Delayed):
            delay += step.seconds
            step = step.step
        if isinstance(step, CompletionResponse | ErrorReply):
            return step, delay
        return step(body), delay

    def _render_reply(self, reply: Reply, body: Any) -> _Answer:
        if isinstance(reply, ErrorReply):
            return _Answer(reply.status, self.render_error(reply), reply.response_headers())
        if isinstance(reply, CompletionResponse):
            return _Answer(200, self.render(reply, body), {})
        return _Answer(200, reply, {})


@dataclass(frozen=True)
class _Answer:
    status: int
    body: JsonObject
    headers: Mapping[str, str]
