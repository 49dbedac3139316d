"""The HTTP transport under githubkit: waits out rate limits, retries, reports every call.

githubkit takes an ``httpx.AsyncBaseTransport``; everything it sends goes through
``handle_async_request`` here, including the installation-token requests of a GitHub
App and each hop of a redirect (a job log's 302 to its archive). So this is the one
place that sees every HTTP call, and the one place that decides to wait:

- **primary limit** — 403/429 with ``x-ratelimit-remaining: 0`` (GraphQL: 200 with a
  ``RATE_LIMITED`` error): wait until ``x-ratelimit-reset``;
- **secondary limit** — 403/429 with ``retry-after``: wait that long; a 403 whose
  message speaks of a secondary rate limit but gives no time: a minute (GitHub's advice);
- **transient failure** — a connection error, 502, 503 or 504: exponential backoff with
  full jitter, up to ``attempts`` tries.

A wait longer than ``max_rate_limit_wait`` is not made: the forge's answer goes back to
githubkit, which raises, and the adapter turns that into a ``ForgeError`` that says when
to try again. githubkit's own retries are switched off (they sleep a minute when no time
is given and are not observable). Like octokit's retry plugin, every method is retried
on 5xx: a comment GitHub answered 502 to is usually not stored, and the calls that must
not repeat (opening a pull request, merging) are idempotent by lookup or by head sha.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import structlog

from orchestrate.core.durations import parse_retry_after
from orchestrate.forges.client import CallObserver, ForgeCall

log = structlog.get_logger(__name__)

Sleep = Callable[[float], Awaitable[None]]

TRANSIENT_STATUSES = frozenset({502, 503, 504})
_SECONDARY_DEFAULT_WAIT = 60.0
_MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often a call may be retried (from the ``forge_*`` settings)."""

    attempts: int = 5
    backoff_base: float = 1.0
    backoff_max: float = 30.0
    max_rate_limit_wait: float = 300.0


class ObservedTransport(httpx.AsyncBaseTransport):
    """Wraps the real transport; shared by every githubkit client of one adapter.

    githubkit opens and closes an ``httpx.AsyncClient`` per request unless it is used as
    a context manager, and closing a client closes its transport: ``aclose`` is a no-op
    here so the connection pool survives, and the adapter calls ``close`` once.
    """

    def __init__(
        self,
        *,
        forge: str,
        observer: CallObserver | None = None,
        policy: RetryPolicy | None = None,
        inner: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.forge = forge
        self.observer = observer
        self.policy = policy or RetryPolicy()
        self._inner = inner or httpx.AsyncHTTPTransport()
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        waited = 0.0
        attempt = 1
        while True:
            started = time.perf_counter()
            try:
                response = await self._inner.handle_async_request(request)
            except httpx.TransportError as error:
                await self._report(request, None, started, attempt, waited, type(error).__name__)
                if attempt >= self.policy.attempts:
                    raise
                wait = self._backoff(attempt)
            else:
                retry_in = await self._wait_for(request, response, attempt)
                await self._report(request, response.status_code, started, attempt, waited, None)
                if retry_in is None:
                    return response
                await response.aclose()
                wait = retry_in
            log.info(
                "forge_call_retrying",
                forge=self.forge,
                method=request.method,
                path=request.url.path,
                attempt=attempt,
                wait_s=round(wait, 3),
            )
            await self._sleep(wait)
            waited = wait
            attempt += 1

    async def aclose(self) -> None:
        """Kept open: see the class docstring."""

    async def close(self) -> None:
        await self._inner.aclose()

    async def _wait_for(
        self, request: httpx.Request, response: httpx.Response, attempt: int
    ) -> float | None:
        """How long to wait before trying again, or None to hand the answer back."""
        status = response.status_code
        if status in (403, 429) or await _graphql_rate_limited(request, response):
            wait = await _rate_limit_wait(response)
            if wait is None or wait > self.policy.max_rate_limit_wait:
                return None
            return wait
        if status in TRANSIENT_STATUSES and attempt < self.policy.attempts:
            return self._backoff(attempt)
        return None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.policy.backoff_max, self.policy.backoff_base * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography

    async def _report(
        self,
        request: httpx.Request,
        status: int | None,
        started: float,
        attempt: int,
        waited: float,
        error: str | None,
    ) -> None:
        if self.observer is None:
            return
        call = ForgeCall(
            forge=self.forge,
            method=request.method,
            # The path only: a redirect's query carries a signed download token.
            path=request.url.path,
            status=status,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            attempt=attempt,
            waited_s=round(waited, 3),
            error=error,
        )
        try:
            await self.observer(call)
        except Exception as problem:
            log.warning("forge_call_not_recorded", forge=self.forge, error=repr(problem))


async def _graphql_rate_limited(request: httpx.Request, response: httpx.Response) -> bool:
    """GraphQL answers an exhausted primary limit with 200 and a ``RATE_LIMITED`` error."""
    if response.status_code != 200 or response.headers.get("x-ratelimit-remaining") != "0":
        return False
    if not request.url.path.endswith("graphql"):
        return False
    body = await response.aread()
    return b'"RATE_LIMITED"' in body[:_MAX_ERROR_BODY] or b'"RATE_LIMIT"' in body[:_MAX_ERROR_BODY]


async def _rate_limit_wait(response: httpx.Response) -> float | None:
    """The wait a 403/429 asks for, or None when it is not a rate limit (a permission)."""
    headers = response.headers
    retry_after = parse_retry_after(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if headers.get("x-ratelimit-remaining") == "0":
        return _until_reset(headers.get("x-ratelimit-reset"))
    if response.status_code == 429:
        return _SECONDARY_DEFAULT_WAIT
    body = await response.aread()
    if b"secondary rate limit" in body[:_MAX_ERROR_BODY].lower():
        return _SECONDARY_DEFAULT_WAIT
    return None


def _until_reset(value: str | None) -> float:
    try:
        reset = float(value) if value is not None else None
    except ValueError:
        reset = None
    if reset is None:
        return _SECONDARY_DEFAULT_WAIT
    # The reset is a whole second; a little over it avoids a second refusal.
    return max(0.0, reset - time.time()) + 0.05
