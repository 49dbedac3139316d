"""The event log is never pruned at or above the floor its durable consumers set."""

from __future__ import annotations

from datetime import timedelta

from orchestrate.core.clock import FrozenClock
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
