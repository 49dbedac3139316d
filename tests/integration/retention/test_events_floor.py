"""The event log is never pruned at or above the floor its durable consumers set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from orchestrate.app.retention import kernel_retention
from orchestrate.core.clock import FrozenClock
from orchestrate.core.events import EventConsumerRow, EventRow
from orchestrate.core.retention import Retention, RetentionPlan, prune
from orchestrate.core.retention.event_log import event_log_rule
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from tests.integration.retention.rows import Rows
from tests.integration.retention.support import stored


async def test_old_events_at_or_after_the_floor_survive(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    ids = [await rows.event() for _ in range(6)]
    floor = ids[3]
    assert isinstance(frozen_runtime.clock, FrozenClock)
    frozen_runtime.clock.advance(timedelta(days=30))

    async def slowest_consumer(uow: UnitOfWork) -> int | None:
        del uow
        return floor

    plan = RetentionPlan.of([Retention(rules=(event_log_rule(slowest_consumer),))])
    (outcome,) = await prune(frozen_runtime, plan, batch_size=2)

    assert (await stored(frozen_runtime))["events"] == set(ids[3:])
    assert outcome.rows == 3


async def test_without_a_floor_every_old_event_goes_and_recent_ones_stay(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    old = [await rows.event() for _ in range(3)]
    assert isinstance(frozen_runtime.clock, FrozenClock)
    frozen_runtime.clock.advance(timedelta(days=15))
    recent = await rows.event()

    async def no_consumer(uow: UnitOfWork) -> int | None:
        del uow
        return None

    plan = RetentionPlan.of([Retention(rules=(event_log_rule(no_consumer),))])
    await prune(frozen_runtime, plan)

    left = (await stored(frozen_runtime))["events"]
    assert left == {recent}
    assert not set(old) & left


async def _consumer_at(runtime: Runtime, cursor: int, name: str = "alerts") -> None:
    async with runtime.uow() as uow:
        uow.session.add(EventConsumerRow(name=name, cursor=cursor, updated_at=uow.now()))
        await uow.commit()


async def test_the_kernel_rule_keeps_what_the_slowest_durable_consumer_has_not_handled(
    frozen_runtime: Runtime, rows: Rows
) -> None:
    ids = [await rows.event() for _ in range(6)]
    await _consumer_at(frozen_runtime, ids[1])
    await _consumer_at(frozen_runtime, ids[4], name="audit-export")
    assert isinstance(frozen_runtime.clock, FrozenClock)
    frozen_runtime.clock.advance(timedelta(days=30))

    await prune(frozen_runtime, RetentionPlan.of([kernel_retention()]))

    # The slowest stands at ids[1]: it resumes from that event, so it stays too.
    assert (await stored(frozen_runtime))["events"] == set(ids[1:])


async def test_an_event_that_committed_after_the_cursor_event_stays_though_its_id_is_lower(
    frozen_runtime: Runtime, rows: Rows, engine_name: str
) -> None:
    if engine_name != "postgresql":
        pytest.skip("SQLite commits ids in order; only PostgreSQL has a txid")
    ids = [await rows.event() for _ in range(4)]
    async with frozen_runtime.uow() as uow:  # ids[0] as if its transaction committed last
        await uow.session.execute(
            update(EventRow)
            .where(EventRow.id == ids[0])
            .values(txid=select(func.max(EventRow.txid)).scalar_subquery() + 1)
        )
        await uow.commit()
    await _consumer_at(frozen_runtime, ids[2])
    assert isinstance(frozen_runtime.clock, FrozenClock)
    frozen_runtime.clock.advance(timedelta(days=30))

    await prune(frozen_runtime, RetentionPlan.of([kernel_retention()]))

    # ids[0] comes after the cursor in log order and is not handled yet: it stays, and the
    # floor (an id) is therefore ids[0] itself, which keeps ids[1] too (safe, not tight).
    assert (await stored(frozen_runtime))["events"] == set(ids)
