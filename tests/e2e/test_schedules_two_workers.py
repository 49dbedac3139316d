"""Two ``orchestrate worker`` processes fire the same 100 schedules: each fires exactly once.

Every schedule is ``* * * * *`` with misfire ``latest`` and a next fire time three
minutes in the past, as after downtime: each must fire once, for the most recent
minute, and start one run; none may be missed and none fired twice, however the two
workers interleave (one may record the fires and the other start their runs).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import service
from orchestrate.schedules.cron import MisfirePolicy
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow

pytestmark = pytest.mark.slow

SCHEDULES = 100
PIPELINE = "name: tick\nsteps:\n  - id: noop\n    run: 'true'\n"


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {
        "ORCHESTRATE_DATABASE_URL": settings.database_url_value,
        "ORCHESTRATE_HOME": str(settings.home),
        "ORCHESTRATE_WORKER_POLL_MAX_SECONDS": "0.2",
        "ORCHESTRATE_LOG_FORMAT": "json",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "orchestrate", "worker"], env=env, stdout=output, stderr=output
        )


async def create_overdue_schedules(runtime: Runtime, actor: Actor) -> datetime:
    """100 schedules whose next fire time is three minutes ago; returns the due minute."""
    await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(PIPELINE), actor)
    for number in range(SCHEDULES):
        request = service.NewSchedule(
            name=f"s{number:03}",
            cron="* * * * *",
            pipeline="tick",
            misfire_policy=MisfirePolicy.LATEST,
            overlap_policy=service.OverlapPolicy.ALLOW,
        )
        await service.create_schedule(runtime.uow(), runtime.settings, request, actor)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    async with runtime.uow() as uow:
        await uow.session.execute(
            update(ScheduleRow).values(
                next_fire_at=minute - timedelta(minutes=3), created_at=minute - timedelta(hours=1)
            )
        )
        await uow.commit()
    return minute


async def fires_by_schedule(runtime: Runtime) -> list[ScheduleFireRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(ScheduleFireRow)))


def all_fired_and_started(fires: list[ScheduleFireRow]) -> bool:
    """Every schedule fired, and every fire's start job ran."""
    fired = {f.schedule_id for f in fires}
    return len(fired) == SCHEDULES and all(f.outcome != "pending" for f in fires)


async def test_two_workers_fire_each_schedule_exactly_once(
    runtime: Runtime, settings: Settings, tmp_path: Path, admin: Actor
) -> None:
    minute = await create_overdue_schedules(runtime, admin)
    workers = [start_worker(settings, tmp_path / f"worker{n}.log") for n in (1, 2)]
    try:
        async with asyncio.timeout(90):
            while not all_fired_and_started(await fires_by_schedule(runtime)):
                await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # time for a duplicate to show up, were there one
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
    fires = await fires_by_schedule(runtime)
    times: dict[str, list[datetime]] = {}
    for fire in fires:
        times.setdefault(fire.schedule_id, []).append(fire.fire_time)
    assert len(times) == SCHEDULES  # none missed
    for fired in times.values():
        assert len(set(fired)) == len(fired)  # none twice
        # misfire "latest": of the three missed minutes only the most recent fires (the
        # clock may have reached the next minute before the first tick)
        assert min(fired) in {minute, minute + timedelta(minutes=1)}
    assert Counter(f.outcome for f in fires) == {"started": len(fires)}
    runs = await pipelines.list_runs(runtime.uow(read_only=True), pipeline="tick", limit=500)
    assert sorted(r.id for r in runs.items) == sorted(str(f.run_id) for f in fires)
