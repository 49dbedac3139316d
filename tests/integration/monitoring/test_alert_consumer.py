"""The ``monitoring.alerts`` consumer on a worker: rules are evaluated when an event that
feeds them commits, and on the tick when nothing happens (``for`` runs on time)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from orchestrate.auth.service import Actor
from orchestrate.core.events import record_event, run_consumers
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.monitoring.alerts import service
from orchestrate.monitoring.alerts.models import AlertState
from orchestrate.pipelines.events import RunFailed

HANG_GUARD = 20.0
"""Seconds before a wait fails instead of hanging; it measures nothing."""


@pytest.fixture
async def worker(settings: Settings) -> AsyncIterator[Runtime]:
    tuned = settings.model_copy(update={"alert_evaluation_seconds": 0.5})
    runtime = Runtime.open(tuned)
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_consumers(runtime, [service.alert_consumer(runtime)], "test-worker", stop)
    )
    try:
        yield runtime
    finally:
        stop.set()
        await asyncio.wait_for(task, HANG_GUARD)
        await runtime.close()


async def states(runtime: Runtime) -> list[AlertState]:
    page = await service.list_alerts(runtime.uow(read_only=True))
    return [alert.state for alert in page.items]


async def wait_for_state(runtime: Runtime, state: AlertState) -> float:
    started = time.monotonic()
    while state not in await states(runtime):
        if time.monotonic() - started > HANG_GUARD:
            raise AssertionError(f"no {state} alert after {HANG_GUARD} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


RULE = """
rules:
  - name: pipeline-failures
    metric: pipeline_runs_failed
    condition: "> 0"
    for: {for_}
"""


async def test_a_failure_fires_its_alert_within_two_seconds_of_its_commit(
    worker: Runtime,
) -> None:
    await service.apply_rules(worker.uow(), "t", RULE.format(for_="0s"), Actor.local_cli())
    await asyncio.sleep(0.6)  # the consumer has evaluated once and waits for events

    async with worker.uow() as uow:
        record_event(uow, RunFailed(subject="run_1", pipeline="deploy", from_="running"))
        await uow.commit()
    lag = await wait_for_state(worker, AlertState.FIRING)

    assert lag < 2.0


async def test_the_tick_moves_a_pending_alert_to_firing_without_new_events(
    worker: Runtime,
) -> None:
    await service.apply_rules(worker.uow(), "t", RULE.format(for_="1s"), Actor.local_cli())
    async with worker.uow() as uow:
        record_event(uow, RunFailed(subject="run_1", pipeline="deploy", from_="running"))
        await uow.commit()

    await wait_for_state(worker, AlertState.PENDING)
    waited = await wait_for_state(worker, AlertState.FIRING)

    assert waited <= 1.0 + 0.5 + 1.0, "for, one tick, and slack"
    assert timedelta(seconds=waited) > timedelta(0)


async def test_rule_files_dropped_in_the_home_are_picked_up_by_the_worker(
    worker: Runtime,
) -> None:
    folder = worker.settings.home / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "team.yml").write_text(RULE.format(for_="0s"))
    async with worker.uow() as uow:
        record_event(uow, RunFailed(subject="run_1", pipeline="deploy", from_="running"))
        await uow.commit()

    await wait_for_state(worker, AlertState.FIRING)
