"""Group commit for the webhook receiver: deliveries arriving together share a transaction.

A delivery is answered 202 only once it is committed, but it does not need a
transaction of its own. Requests hand their verified delivery to the process's
``DeliveryInbox`` and wait; one flusher stores whatever has arrived — one multi-row
insert, the events, and one processing job for the batch — commits, and answers every
waiting request. While that transaction runs, the next requests gather for the next
one. At one request at a time this is a transaction per delivery as before; under a
burst the cost of a commit (and on SQLite of waiting for the single writer) is shared
by everything that arrived meanwhile. ``bench/webhooks.py`` measures what it buys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from orchestrate.core.jobs import NewJob, enqueue_many
from orchestrate.core.uow import UnitOfWork
from orchestrate.triggers import _store as store
from orchestrate.triggers.deliveries import NewDelivery
from orchestrate.triggers.kinds import PROCESS_DELIVERIES, DeliveryBatch

"""The job that processes the deliveries of one batch (see ``processing.py``)."""

MAX_BATCH = 256
"""Deliveries per transaction at most."""

MAX_BATCH_BYTES = 8 * 1024 * 1024
"""Body size per transaction at most, counted in characters of the decoded body (as many
as its bytes for the ASCII JSON GitHub sends); one larger delivery goes alone. The
processing job loads a batch's bodies together, so this bounds its memory too."""


@dataclass
class _Waiting:
    delivery: NewDelivery
    answer: asyncio.Future[str | None]


class DeliveryInbox:
    """Stores deliveries in shared transactions; one per process (the web app keeps it)."""

    def __init__(self, new_uow: Callable[[], UnitOfWork]) -> None:
        self._new_uow = new_uow
        self._waiting: list[_Waiting] = []
        self._flusher: asyncio.Task[None] | None = None

    async def store(self, delivery: NewDelivery) -> str | None:
        """Store the delivery with its processing queued; its row id, or None if known.

        Returns once the transaction holding it has committed. If that transaction
        fails, every delivery in it fails with the same error and nothing of them is
        stored.
        """
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(delivery, answer))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="webhook-inbox")
        return await answer

    async def _flush(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._waiting:
                size = _batch_size(self._waiting)
                batch, self._waiting = self._waiting[:size], self._waiting[size:]
                try:
                    row_ids = await store_batch(self._new_uow(), [w.delivery for w in batch])
                except Exception as error:
                    for waiting in batch:
                        if not waiting.answer.done():
                            waiting.answer.set_exception(error)
                    continue
                for waiting, row_id in zip(batch, row_ids, strict=True):
                    if not waiting.answer.done():  # its request may have been cancelled
                        waiting.answer.set_result(row_id)
                batch = []
        finally:  # cancelled (the server is stopping): nobody is left waiting forever
            left, self._waiting = batch + self._waiting, []
            for waiting in left:
                waiting.answer.cancel()


def _batch_size(waiting: list[_Waiting]) -> int:
    """How many of the first waiting deliveries go into the next transaction (at least 1)."""
    total = 0
    for count, item in enumerate(waiting[:MAX_BATCH]):
        total += len(item.delivery.body)
        if total > MAX_BATCH_BYTES:
            return max(count, 1)
    return min(len(waiting), MAX_BATCH)


async def store_batch(uow: UnitOfWork, batch: list[NewDelivery]) -> list[str | None]:
    """Store the new deliveries of ``batch`` and queue one job processing them all."""
    async with uow:
        row_ids = await store.insert_unless_known(uow, batch)
        stored = [row_id for row_id in row_ids if row_id is not None]
        if stored:
            batch_job = NewJob(PROCESS_DELIVERIES, DeliveryBatch(deliveries=tuple(stored)))
            await enqueue_many(uow, [batch_job])
        await uow.commit()
    return row_ids
