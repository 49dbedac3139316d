"""The transport's decisions: how long each kind of refusal waits, and when it gives up.

The forge is an ``httpx.MockTransport`` answering from a list and the sleep only records,
so the waits a real run would make are read without making them.
"""

from __future__ import annotations

import time

import httpx
import pytest

from orchestrate.forges.client import ForgeCall
from orchestrate.forges.github.transport import ObservedTransport, RetryPolicy


class Forge:
    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.waits: list[float] = []
        self.calls: list[ForgeCall] = []

    def transport(self, policy: RetryPolicy | None = None) -> ObservedTransport:
        async def sleep(seconds: float) -> None:
            self.waits.append(seconds)

        async def observe(call: ForgeCall) -> None:
            self.calls.append(call)

        def answer(_request: httpx.Request) -> httpx.Response:
            return self.answers.pop(0)

        return ObservedTransport(
            forge="github",
            observer=observe,
            policy=policy or RetryPolicy(),
            inner=httpx.MockTransport(answer),
            sleep=sleep,
        )

    async def get(self, policy: RetryPolicy | None = None) -> int:
        async with httpx.AsyncClient(transport=self.transport(policy)) as client:
            response = await client.get("https://api.github.test/repos/o/r?secret=x")
            return response.status_code


OK = httpx.Response(200, json={})


async def test_a_secondary_limit_without_a_time_waits_a_minute() -> None:
    forge = Forge(
        httpx.Response(403, json={"message": "You have exceeded a secondary rate limit."}), OK
    )
    assert await forge.get() == 200
    assert forge.waits == [60.0]


async def test_a_429_without_a_time_waits_a_minute() -> None:
    forge = Forge(httpx.Response(429), OK)
    assert await forge.get() == 200
    assert forge.waits == [60.0]


async def test_an_exhausted_primary_limit_waits_until_its_reset() -> None:
    reset = str(int(time.time()) + 40)
    limited = httpx.Response(
        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}
    )
    forge = Forge(limited, OK)
    assert await forge.get() == 200
    assert 38 < forge.waits[0] <= 41


async def test_a_limit_beyond_the_bound_is_handed_back_without_waiting() -> None:
    forge = Forge(httpx.Response(429, headers={"retry-after": "3600"}))
    assert await forge.get(RetryPolicy(max_rate_limit_wait=300)) == 429
    assert forge.waits == []


async def test_backoff_grows_with_jitter_under_its_cap_then_gives_up() -> None:
    forge = Forge(*(httpx.Response(502) for _ in range(6)))
    policy = RetryPolicy(attempts=6, backoff_base=1, backoff_max=4)
    assert await forge.get(policy) == 502
    assert len(forge.waits) == 5
    for attempt, wait in enumerate(forge.waits, start=1):
        assert 0 <= wait <= min(4, 2 ** (attempt - 1))


async def test_a_refusal_that_is_no_rate_limit_is_not_retried() -> None:
    forge = Forge(httpx.Response(403, json={"message": "Must have admin rights"}), OK)
    assert await forge.get() == 403
    assert forge.waits == []


@pytest.mark.parametrize("status", [400, 404, 422, 500])
async def test_other_errors_are_answered_at_once(status: int) -> None:
    forge = Forge(httpx.Response(status), OK)
    assert await forge.get() == status
    assert len(forge.calls) == 1


async def test_each_try_is_reported_with_the_wait_before_it_and_no_query() -> None:
    forge = Forge(httpx.Response(403, headers={"retry-after": "2"}), OK)
    await forge.get()
    assert [(c.path, c.status, c.attempt, c.waited_s) for c in forge.calls] == [
        ("/repos/o/r", 403, 1, 0.0),
        ("/repos/o/r", 200, 2, 2.0),
    ]
