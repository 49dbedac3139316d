"""Deliveries arriving together are stored in one transaction and processed as a batch."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select, update

from orchestrate.core.jobs import JobKind
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.triggers import service
from orchestrate.triggers.deliveries import NewDelivery
from orchestrate.triggers.inbox import DeliveryInbox, store_batch
from orchestrate.triggers.kinds import PROCESS_DELIVERIES
from orchestrate.triggers.tables import WebhookDeliveryRow
from tests.integration.triggers.test_deliveries import push, rows, settings, work
from tests.integration.triggers.test_receiver import deliver


async def jobs(runtime: Runtime, kind: JobKind[Any]) -> list[JobRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(JobRow).where(JobRow.kind == kind.name)))


def new_push(number: int) -> NewDelivery:
    return NewDelivery(
        delivery_id=f"push-{number}",
        event="push",
        action=None,
        repository="octo/hello",
        headers={"x-github-event": "push"},
        body=push(number).decode(),
    )


async def test_concurrent_deliveries_share_transactions_and_each_is_stored_once(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    responses = await asyncio.gather(
        *(deliver(api, push(n), delivery_id=f"d-{n}") for n in range(40)),
        deliver(api, push(0), delivery_id="d-0"),  # a copy racing the original
    )

    statuses = sorted(response.json()["status"] for response in responses)
    assert statuses == ["accepted"] * 40 + ["duplicate"]
    batches = await jobs(runtime, PROCESS_DELIVERIES)
    assert len(batches) < 40  # requests that arrived together shared a transaction
    batched = [key for job in batches for key in job.payload["deliveries"]]
    assert sorted(batched) == sorted(row.id for row in await rows(runtime))
    assert len(set(batched)) == 40


async def test_a_batch_is_processed_together_and_each_delivery_once(runtime: Runtime) -> None:
    row_ids = await store_batch(runtime.uow(), [new_push(n) for n in range(5)])

    await work(runtime)

    stored = await rows(runtime)
    assert {(row.status, row.attempts) for row in stored} == {("processed", 1)}
    [batch] = await jobs(runtime, PROCESS_DELIVERIES)
    assert (batch.status, batch.result) == ("succeeded", {"processed": 5, "alone": 0})
    assert batch.payload == {"deliveries": row_ids}
    assert await jobs(runtime, service.PROCESS_DELIVERY) == []


async def test_a_delivery_that_fails_in_a_batch_is_processed_alone_without_the_others(
    runtime: Runtime,
) -> None:
    row_ids = [
        str(key) for key in await store_batch(runtime.uow(), [new_push(n) for n in range(3)])
    ]
    async with runtime.uow() as uow:  # a body that no longer parses makes routing fail
        await uow.session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.id == row_ids[1])
            .values(body="{broken")
        )
        await uow.commit()

    await work(runtime)

    by_id = {row.id: row for row in await rows(runtime)}
    assert [by_id[key].status for key in row_ids] == ["processed", "processing", "processed"]
    assert "JSONDecodeError" in (by_id[row_ids[1]].last_error or "")
    [alone] = await jobs(runtime, service.PROCESS_DELIVERY)
    assert alone.payload == {"delivery": row_ids[1]}
    [batch] = await jobs(runtime, PROCESS_DELIVERIES)
    assert batch.result == {"processed": 2, "alone": 1}


async def test_a_retried_batch_hands_each_delivery_to_a_job_of_its_own(runtime: Runtime) -> None:
    row_ids = [
        str(key) for key in await store_batch(runtime.uow(), [new_push(n) for n in range(3)])
    ]
    async with runtime.uow() as uow:  # as if a first attempt had failed as a whole
        await uow.session.execute(update(JobRow).values(attempts=1))
        await uow.commit()

    await work(runtime)

    stored = await rows(runtime)
    assert {(row.status, row.attempts) for row in stored} == {("processed", 1)}
    alone = await jobs(runtime, service.PROCESS_DELIVERY)
    assert sorted(job.payload["delivery"] for job in alone) == sorted(row_ids)
    assert {job.status for job in alone} == {"succeeded"}


async def test_a_failed_store_fails_every_request_of_its_batch_and_stores_nothing(
    runtime: Runtime,
) -> None:
    inbox = DeliveryInbox(runtime.uow)
    too_long: Any = "x" * 200  # over the event column's 100 characters on PostgreSQL
    broken = NewDelivery("bad", too_long, None, None, {}, "{}")
    good = new_push(1)
    if runtime.database.is_sqlite:  # SQLite does not enforce lengths: break it differently
        unserialisable: Any = {"x": object()}
        broken = NewDelivery("bad", "push", None, None, unserialisable, "{}")  # not JSON

    results = await asyncio.gather(inbox.store(good), inbox.store(broken), return_exceptions=True)

    assert all(isinstance(result, Exception) for result in results)
    assert await rows(runtime) == []
    assert await inbox.store(new_push(2)) is not None  # the next batch is not affected


__all__ = ["settings"]  # the fixture, with the webhook secret configured
