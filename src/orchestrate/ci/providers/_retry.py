"""Waiting out rate limits and retrying failures, under every provider's HTTP client.

One policy, two shapes: an ``httpx`` transport (githubkit for GitHub Actions, and the
CircleCI client) and a ``requests`` adapter (python-gitlab). Both see every request,
redirect hops included, and decide the same way:

- **rate limit** — 429, or GitHub's 403 with ``x-ratelimit-remaining: 0``: wait for
  ``retry-after`` (seconds or an HTTP date), else until ``x-ratelimit-reset`` /
  ``ratelimit-reset`` (a Unix time; GitLab also sends it as seconds from now), else a
  backoff; a wait longer than ``max_wait`` or more than ``attempts`` refusals raise
  ``RateLimited`` at once, with the wait the platform asked for;
- **transient failure** — 500, 502, 503, 504 or a connection error: exponential backoff
  with jitter, only for idempotent calls (a retried POST could start a second
  pipeline) — except a connection that was refused, which never reached the platform.
  Idempotent are the idempotent methods and a POST to a ``…/cancel`` path: cancelling a
  run twice stops it once (GitHub answers the second 409, GitLab and CircleCI accept it).

The policy follows the forges' settings (``ORCHESTRATE_FORGE_RETRY_*``,
``ORCHESTRATE_FORGE_RATE_LIMIT_MAX_WAIT_SECONDS``); the pattern is the forges' own
transports', kept separate because the ci layer sits below forges.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import requests
import structlog
from requests.adapters import HTTPAdapter

from orchestrate.ci.providers.base import RateLimited
from orchestrate.core.durations import parse_retry_after

log = structlog.get_logger(__name__)

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_CANCEL_PATH = re.compile(r"/cancel/?$")
"""GitHub's ``…/runs/{id}/cancel``, GitLab's ``…/pipelines/{id}/cancel``, CircleCI's
``/workflow/{id}/cancel`` (not GitHub's ``force-cancel``: it is never sent)."""


def is_idempotent(method: str, path: str) -> bool:
    """Whether repeating the call after a 5xx or a lost answer can do no harm."""
    method = method.upper()
    return method in IDEMPOTENT_METHODS or (method == "POST" and bool(_CANCEL_PATH.search(path)))


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_wait: float = 300.0

    def backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not secrecy


def rate_limit_wait(status: int, headers: Mapping[str, str]) -> float | None:
    """The wait a refusal asks for; None when it is no rate limit (a 403 of permissions).

    ``headers`` is looked up in lower case (httpx and requests both accept any case).
    """
    remaining = headers.get("x-ratelimit-remaining")
    if status == 403 and remaining != "0" and "retry-after" not in headers:
        return None
    if status not in (403, 429):
        return None
    asked = parse_retry_after(headers.get("retry-after"))
    if asked is not None:
        return asked
    for name in ("x-ratelimit-reset", "ratelimit-reset"):
        value = headers.get(name)
        if value is not None:
            try:
                number = float(value)
            except ValueError:
                continue
            # A Unix time (GitHub, GitLab's RateLimit-Reset), or seconds from now.
            return max(0.0, number - time.time()) if number > 1e9 else max(0.0, number)
    return 0.0 if status == 429 else None


class Decision:
    """What to do after an answer: hand it back (``wait`` None) or wait and try again."""

    def __init__(self, provider: str, policy: RetryPolicy) -> None:
        self.provider = provider
        self.policy = policy

    def after_answer(
        self, method: str, status: int, headers: Mapping[str, str], attempt: int, path: str = ""
    ) -> float | None:
        wait = rate_limit_wait(status, headers)
        if wait is not None:
            if wait > self.policy.max_wait or attempt >= self.policy.attempts:
                raise RateLimited(
                    f"{self.provider} rate limit: it asks to wait {wait:.0f} s "
                    f"(after {attempt} refusal(s)); at most {self.policy.max_wait:.0f} s are "
                    "waited (ORCHESTRATE_FORGE_RATE_LIMIT_MAX_WAIT_SECONDS); try again later",
                    retry_after=round(wait, 3),
                    provider=self.provider.lower(),
                    status=status,
                )
            return wait if wait > 0 else self.policy.backoff(attempt)
        if (
            status in TRANSIENT_STATUSES
            and is_idempotent(method, path)
            and attempt < self.policy.attempts
        ):
            return self.policy.backoff(attempt)
        return None

    def after_error(
        self, method: str, error: Exception, attempt: int, path: str = ""
    ) -> float | None:
        if attempt >= self.policy.attempts:
            return None
        never_sent = isinstance(error, httpx.ConnectError | requests.exceptions.ConnectionError)
        if never_sent and "refused" in repr(error).lower():
            return self.policy.backoff(attempt)
        if is_idempotent(method, path):
            return self.policy.backoff(attempt)
        return None


Sleep = Callable[[float], Awaitable[None]]


class RetryingTransport(httpx.AsyncBaseTransport):
    """An httpx transport that waits out rate limits and retries per ``RetryPolicy``.

    githubkit closes its client (and so the transport) after each call unless used as
    a context manager: ``aclose`` keeps the pool open and ``close`` really closes it.
    """

    def __init__(
        self,
        provider: str,
        policy: RetryPolicy,
        *,
        inner: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._decision = Decision(provider, policy)
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as error:
                wait = self._decision.after_error(request.method, error, attempt, request.url.path)
                if wait is None:
                    raise
            else:
                try:
                    wait = self._decision.after_answer(
                        request.method,
                        response.status_code,
                        response.headers,
                        attempt,
                        request.url.path,
                    )
                except RateLimited:
                    await response.aclose()
                    raise
                if wait is None:
                    return response
                await response.aclose()
            _log_retry(self._decision.provider, request.method, request.url.path, attempt, wait)
            await self._sleep(wait)

    async def aclose(self) -> None:
        """Kept open: see the class docstring."""

    async def close(self) -> None:
        await self._inner.aclose()


class RetryingAdapter(HTTPAdapter):
    """The same for ``requests`` (python-gitlab runs in a worker thread: sleeping is fine)."""

    def __init__(
        self, provider: str, policy: RetryPolicy, *, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        super().__init__()
        self._decision = Decision(provider, policy)
        self._sleep = sleep

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
        path = (request.path_url or "").split("?", 1)[0]
        attempt = 0
        while True:
            attempt += 1
            try:
                response = super().send(request, stream, timeout, verify, cert, proxies)
            except requests.RequestException as error:
                wait = self._decision.after_error(method, error, attempt, path)
                if wait is None:
                    raise
            else:
                headers = {name.lower(): value for name, value in response.headers.items()}
                try:
                    wait = self._decision.after_answer(
                        method, response.status_code, headers, attempt, path
                    )
                except RateLimited:
                    response.close()
                    raise
                if wait is None:
                    return response
                response.close()
            _log_retry(self._decision.provider, method, request.path_url, attempt, wait)
            self._sleep(wait)


def _log_retry(provider: str, method: str, path: str, attempt: int, wait: float) -> None:
    log.info(
        "ci_call_retrying",
        provider=provider,
        method=method,
        path=path.split("?", 1)[0],
        attempt=attempt,
        wait_s=round(wait, 3),
    )
