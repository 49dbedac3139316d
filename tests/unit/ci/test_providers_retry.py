"""How the CI providers' transports decide to wait, retry or give up."""

from __future__ import annotations

import time

import httpx
import pytest

from orchestrate.ci.providers import RateLimited
from orchestrate.ci.providers._retry import (
    Decision,
    RetryingTransport,
    RetryPolicy,
    rate_limit_wait,
)

POLICY = RetryPolicy(attempts=3, backoff_base=0.001, backoff_max=0.002, max_wait=10.0)


def test_retry_after_in_seconds_is_the_wait() -> None:
    assert rate_limit_wait(429, {"retry-after": "3"}) == 3.0


def test_githubs_exhausted_primary_limit_waits_until_its_reset() -> None:
    reset = str(int(time.time()) + 5)

    wait = rate_limit_wait(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset})

    assert wait is not None
    assert 3.5 < wait <= 5.0


def test_gitlabs_ratelimit_reset_is_read_too() -> None:
    reset = str(int(time.time()) + 5)

    wait = rate_limit_wait(429, {"ratelimit-reset": reset})

    assert wait is not None
    assert 3.5 < wait <= 5.0


def test_a_403_that_is_no_rate_limit_is_handed_back() -> None:
    assert rate_limit_wait(403, {"x-ratelimit-remaining": "4999"}) is None


def test_a_wait_longer_than_allowed_raises_rate_limited_with_the_wait() -> None:
    decision = Decision("GitHub", POLICY)

    with pytest.raises(RateLimited) as raised:
        decision.after_answer("GET", 429, {"retry-after": "60"}, attempt=1)

    assert raised.value.retry_after == 60.0
    assert raised.value.context["provider"] == "github"


def test_refusals_past_the_attempts_raise_rate_limited() -> None:
    decision = Decision("CircleCI", POLICY)

    with pytest.raises(RateLimited):
        decision.after_answer("GET", 429, {"retry-after": "1"}, attempt=3)


def test_server_errors_are_retried_for_reads_only() -> None:
    decision = Decision("GitLab", POLICY)

    assert decision.after_answer("GET", 502, {}, attempt=1) is not None
    assert decision.after_answer("POST", 502, {}, attempt=1) is None
    assert decision.after_answer("GET", 502, {}, attempt=3) is None
    assert decision.after_answer("GET", 404, {}, attempt=1) is None


class Scripted(httpx.AsyncBaseTransport):
    """The network's answers, in order (httpx's own transport seam, no server)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.method)
        return httpx.Response(self.statuses.pop(0), headers={"retry-after": "0"})


async def test_the_transport_retries_a_502_read_and_not_a_502_trigger() -> None:
    reads = Scripted(502, 200)
    writes = Scripted(502, 200)

    async with httpx.AsyncClient(transport=RetryingTransport("X", POLICY, inner=reads)) as client:
        read = await client.get("http://ci.test/runs")
    async with httpx.AsyncClient(transport=RetryingTransport("X", POLICY, inner=writes)) as client:
        write = await client.post("http://ci.test/trigger")

    assert (read.status_code, reads.seen) == (200, ["GET", "GET"])
    assert (write.status_code, writes.seen) == (502, ["POST"])


async def test_the_transport_waits_out_a_429_then_answers() -> None:
    network = Scripted(429, 200)

    async with httpx.AsyncClient(transport=RetryingTransport("X", POLICY, inner=network)) as client:
        response = await client.post("http://ci.test/trigger")

    assert response.status_code == 200
    assert network.seen == ["POST", "POST"]  # a 429 was not carried out: safe to repeat


def test_a_cancel_is_retried_like_a_read_and_a_force_cancel_is_not() -> None:
    decision = Decision("GitHub", POLICY)

    cancel = decision.after_answer("POST", 502, {}, 1, "/repos/o/r/actions/runs/1/cancel")
    force = decision.after_answer("POST", 502, {}, 1, "/repos/o/r/actions/runs/1/force-cancel")
    gitlab = decision.after_answer("POST", 503, {}, 1, "/api/v4/projects/g%2Fa/pipelines/7/cancel")
    trigger = decision.after_answer("POST", 502, {}, 1, "/repos/o/r/actions/workflows/x/dispatches")

    assert cancel is not None
    assert gitlab is not None
    assert force is None
    assert trigger is None
