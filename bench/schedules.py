"""Schedule firing benchmark: lateness of fires when many schedules are due each minute.

``--schedules`` schedules (``* * * * *``) start a cheap pipeline (one approval step, so
the run itself costs no worker time); ``--workers`` ``orchestrate worker`` processes
fire them. Fire lateness is each fire's stored ``fired_at - fire_time`` for the first
minute boundary after the workers started (every schedule must fire exactly once for
it); start lateness is its pipeline run's ``created_at - fire_time``, for the runs
started within ``--start-limit`` seconds.

    .venv/bin/python bench/schedules.py [--schedules 10000] [--workers 1]
        [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test --only postgresql]

Prints a Markdown table to paste into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).parent))
from _common import Database, machine, percentile
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.tables import PipelineRunRow
from orchestrate.schedules import service as schedules
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow
from pipelines import start_workers, stop_workers

ACTOR = Actor.system("bench")
GATE = "name: gate\nsteps:\n  - id: wait\n    approval: {approvers: [nobody]}\n"


@dataclass
class Measured:
    fired: list[float]
    started: list[float]
    start_seconds: float


async def measure(database: Database, count: int, workers: int, start_limit: float) -> Measured:
    home = tempfile.mkdtemp()
    runtime = Runtime.open(Settings(database_url=database.url, home=Path(home)))  # type: ignore[arg-type]
    try:
        await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(GATE), ACTOR)
        for n in range(count):
            request = schedules.NewSchedule(name=f"s{n}", cron="* * * * *", pipeline="gate")
            await schedules.create_schedule(runtime.uow(), runtime.settings, request, ACTOR)
        boundary = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        async with runtime.uow() as uow:  # all due at the same coming minute
            await uow.session.execute(update(ScheduleRow).values(next_fire_at=boundary))
            await uow.commit()
        processes = await asyncio.to_thread(start_workers, database.url, workers, home)
        try:
            wait = (boundary + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(wait, 0.0))
            fired = await _wait_for_fires(runtime, boundary, count)
            started = await _wait_for_starts(runtime, boundary, count, start_limit)
        finally:
            await asyncio.to_thread(stop_workers, processes)
        start_seconds = max(started) if started else 0.0
        return Measured(fired, started, start_seconds)
    finally:
        await runtime.close()


async def _wait_for_fires(runtime: Runtime, boundary: datetime, count: int) -> list[float]:
    deadline = time.monotonic() + 900
    while True:
        async with runtime.uow(read_only=True) as uow:
            fires = list(
                await uow.session.execute(
                    select(ScheduleFireRow.fire_time, ScheduleFireRow.fired_at).where(
                        ScheduleFireRow.fire_time == boundary
                    )
                )
            )
        if len(fires) >= count or time.monotonic() > deadline:
            return [(fired - fire).total_seconds() for fire, fired in fires]
        await asyncio.sleep(0.2)


async def _wait_for_starts(
    runtime: Runtime, boundary: datetime, count: int, limit: float
) -> list[float]:
    """Start lateness of the runs started within ``limit`` seconds of the fire time."""
    deadline = boundary + timedelta(seconds=limit)
    while True:
        async with runtime.uow(read_only=True) as uow:
            created = list(
                await uow.session.scalars(
                    select(PipelineRunRow.created_at)
                    .join(ScheduleFireRow, ScheduleFireRow.run_id == PipelineRunRow.id)
                    .where(ScheduleFireRow.fire_time == boundary)
                )
            )
        if len(created) >= count or datetime.now(UTC) > deadline:
            return [(moment - boundary).total_seconds() for moment in created]
        await asyncio.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--start-limit", type=float, default=300.0)
    parser.add_argument("--postgres", default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    database = Database(args.only, args.postgres)
    try:
        measured = asyncio.run(measure(database, args.schedules, args.workers, args.start_limit))
    finally:
        database.drop()
    fired, started = measured.fired, measured.started
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; {args.schedules} schedules due at one minute")
    print()
    print(
        "| database | workers | fired | fire lateness p50 / p99 / max (s) "
        "| runs started | start lateness p50 / p99 / max (s) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| {args.only} | {args.workers} | {len(fired):,} of {args.schedules:,} "
        f"| {_spread(fired)} | {len(started):,} in {args.start_limit:.0f} s | {_spread(started)} |"
    )


def _spread(values: list[float]) -> str:
    if not values:
        return "—"
    return f"{percentile(values, 50):.2f} / {percentile(values, 99):.2f} / {max(values):.2f}"


if __name__ == "__main__":
    main()
