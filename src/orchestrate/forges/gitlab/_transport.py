"""The HTTP layer under python-gitlab: rate limits, retries, and a record of every call.

python-gitlab sends every request through a ``requests.Session``; this module gives it
one whose adapter does three things python-gitlab does not do the way we need:

- **Rate limits.** A 429 is waited out for ``Retry-After`` seconds (else until
  ``RateLimit-Reset``, else with backoff), at most ``max_wait`` per wait and
  ``max_attempts`` in all. python-gitlab's own ``obey_rate_limit`` sleeps for whatever
  the server says, however long, and up to ten times; a longer wait than ``max_wait``
  is better left to the job queue, so past it we give up at once with ``RateLimited``.
- **Transient failures.** 502/503/504 and connection failures are retried with
  exponential backoff and jitter. A request that may have reached GitLab (a read
  timeout, a dropped answer) is retried only when its method is idempotent: a retried
  POST could add a second comment. python-gitlab's ``retry_transient_errors`` stays off
  (it would also retry 500 and every POST).
- **Observation.** Each attempt becomes a ``ForgeCall`` (method, path without the query
  string, status, duration, attempt, wait) — never a header or a body, so never the
  token. Calls are appended to the list the current thread registered with
  ``recording``: the client runs each operation in a worker thread and reports that
  list to its async observer when the thread is done.

Because ``RateLimited`` is not a ``requests`` exception, python-gitlab lets it through
untouched instead of retrying it a second time.
"""

from __future__ import annotations

import contextlib
import email.utils
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from orchestrate.forges.client import ForgeCall

FORGE = "gitlab"
TRANSIENT_STATUSES = frozenset({502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``max_attempts`` per request (the first one included), backoff
    ``backoff_base * 2**n`` (with jitter) up to ``backoff_max``, and rate-limit waits of
    at most ``max_wait`` seconds each."""

    max_attempts: int = 5
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_wait: float = 60.0

    def backoff(self, attempt: int) -> float:
        """The pause after failed attempt ``attempt`` (1-based): full jitter."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy


class RateLimited(Exception):
    """GitLab kept answering 429, or asked for a longer wait than the policy allows."""

    def __init__(self, retry_after: float | None, attempts: int) -> None:
        wait = "" if retry_after is None else f"; it asks to wait {retry_after:.0f} s"
        super().__init__(f"GitLab rate limit hit {attempts} time(s){wait}")
        self.retry_after = retry_after


class _Recording(threading.local):
    calls: list[ForgeCall] | None = None


class ObservedAdapter(HTTPAdapter):
    """A requests adapter that retries, waits out rate limits and records each attempt."""

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__()
        self.policy = policy
        self._sleep = sleep
        self._recording = _Recording()

    @contextlib.contextmanager
    def recording(self, calls: list[ForgeCall]) -> Iterator[None]:
        """Append the calls this thread makes inside the block to ``calls``."""
        previous = self._recording.calls
        self._recording.calls = calls
        try:
            yield
        finally:
            self._recording.calls = previous

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        method = (request.method or "GET").upper()
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = super().send(request, stream, timeout, verify, cert, proxies)
            except requests.RequestException as error:
                self._record(request, None, started, attempt, waited, type(error).__name__)
                if attempt >= self.policy.max_attempts or not _may_retry(error, method):
                    raise
                waited = self.policy.backoff(attempt)
                self._sleep(waited)
                continue
            status = response.status_code
            self._record(request, status, started, attempt, waited, None)
            if status == 429:
                waited = self._rate_limit_wait(response, attempt)
            elif status in TRANSIENT_STATUSES and attempt < self.policy.max_attempts:
                waited = self.policy.backoff(attempt)
            else:
                return response
            response.close()
            self._sleep(waited)

    def _rate_limit_wait(self, response: requests.Response, attempt: int) -> float:
        asked = retry_after_seconds(response.headers)
        if attempt >= self.policy.max_attempts or (
            asked is not None and asked > self.policy.max_wait
        ):
            response.close()
            raise RateLimited(asked, attempt)
        return asked if asked is not None else self.policy.backoff(attempt)

    def _record(
        self,
        request: requests.PreparedRequest,
        status: int | None,
        started: float,
        attempt: int,
        waited: float,
        error: str | None,
    ) -> None:
        calls = self._recording.calls
        if calls is None:
            return
        calls.append(
            ForgeCall(
                forge=FORGE,
                method=(request.method or "GET").upper(),
                # The path only: a query string may carry hostile branch names, never
                # anything worth keeping; the token travels in a header.
                path=urlsplit(request.url or "").path,
                status=status,
                duration_ms=round((time.monotonic() - started) * 1000, 3),
                attempt=attempt,
                waited_s=round(waited, 3),
                error=error,
            )
        )


def retry_after_seconds(headers: Any) -> float | None:
    """How long GitLab asks to wait: ``Retry-After`` (seconds or an HTTP date), else
    ``RateLimit-Reset`` (a Unix time); None when it says neither."""
    retry_after = headers.get("Retry-After")
    if retry_after:
        with contextlib.suppress(ValueError):
            return max(0.0, float(retry_after))
        with contextlib.suppress(TypeError, ValueError):
            moment = email.utils.parsedate_to_datetime(retry_after)
            return max(0.0, moment.timestamp() - time.time())
    reset = headers.get("RateLimit-Reset")
    if reset:
        with contextlib.suppress(ValueError):
            return max(0.0, float(reset) - time.time())
    return None


def _may_retry(error: requests.RequestException, method: str) -> bool:
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True  # never reached GitLab
    if isinstance(error, requests.ConnectionError) and _not_sent(error):
        return True
    return method in IDEMPOTENT_METHODS and isinstance(
        error,
        requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError,
    )


def _not_sent(error: requests.ConnectionError) -> bool:
    """A refused or unresolvable connection: the request never left this machine."""
    text = repr(error.args)
    return any(
        marker in text
        for marker in ("NewConnectionError", "NameResolutionError", "Connection refused")
    )


def observed_session(adapter: ObservedAdapter) -> requests.Session:
    """A session sending every http(s) request through ``adapter``."""
    session = requests.Session()
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
