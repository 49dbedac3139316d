"""How the webhook inbox cuts waiting deliveries into transactions."""

from __future__ import annotations

import asyncio

from orchestrate.triggers.deliveries import NewDelivery
from orchestrate.triggers.inbox import MAX_BATCH, MAX_BATCH_BYTES, _batch_size, _Waiting


def waiting(*sizes: int) -> list[_Waiting]:
    loop = asyncio.get_running_loop()
    return [
        _Waiting(NewDelivery(f"d-{n}", "push", None, None, {}, "x" * size), loop.create_future())
        for n, size in enumerate(sizes)
    ]


async def test_small_deliveries_go_together_up_to_the_count_limit() -> None:
    assert _batch_size(waiting(*[100] * 10)) == 10
    assert _batch_size(waiting(*[100] * (MAX_BATCH + 5))) == MAX_BATCH


async def test_a_batch_stops_before_the_delivery_that_would_pass_the_byte_limit() -> None:
    half = MAX_BATCH_BYTES // 2
    assert _batch_size(waiting(half, half - 300, 100, 100, 200)) == 4
    assert _batch_size(waiting(half, half, 100)) == 2
    assert _batch_size(waiting(half, half + 1, 100)) == 1


async def test_a_delivery_larger_than_the_byte_limit_goes_alone() -> None:
    assert _batch_size(waiting(MAX_BATCH_BYTES + 1, 100)) == 1
