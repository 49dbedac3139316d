"""Schedule firing benchmark: lateness of fires when many schedules are due each minute.

``--schedules`` schedules (``* * * * *``) start a cheap pipeline (one approval step, so
the run itself costs no worker time); one ``orchestrate worker`` process fires them.
Lateness is each fire's stored ``fired_at - fire_time`` for the first minute boundary
after the worker started; every schedule must fire exactly once for it.

    .venv/bin/python bench/schedules.py [--schedules 10000]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).parent))
from _common import Database, machine, percentile
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service as pipelines
from orchestrate.triggers import service as triggers
from orchestrate.triggers.schedule_tables import ScheduleFireRow, ScheduleRow
from pipelines import start_workers, stop_workers

ACTOR = Actor.system("bench")
GATE = "name: gate\nsteps:\n  - id: wait\n    approval: {approvers: [nobody]}\n"


async def measure(database: Database, count: int) -> tuple[list[float], float]:
    home = tempfile.mkdtemp()
    runtime = Runtime.open(Settings(database_url=database.url, home=Path(home)))  # type: ignore[arg-type]
    try:
        await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(GATE), ACTOR)
        for n in range(count):
            request = triggers.NewSchedule(name=f"s{n}", cron="* * * * *", pipeline="gate")
            await triggers.create_schedule(runtime.uow(), runtime.settings, request, ACTOR)
        boundary = (datetime.now(UTC) + timedelta(minutes=1)).replace(second=0, microsecond=0)
        async with runtime.uow() as uow:  # all due at the same coming minute
            await uow.session.execute(update(ScheduleRow).values(next_fire_at=boundary))
            await uow.commit()
        processes = await asyncio.to_thread(start_workers, database.url, 1, home)
        try:
            wait = (boundary + timedelta(seconds=1) - datetime.now(UTC)).total_seconds()
            await asyncio.sleep(max(wait, 0.0))
            lateness = await _wait_for_fires(runtime, boundary, count)
        finally:
            await asyncio.to_thread(stop_workers, processes)
        return lateness, max(lateness) if lateness else 0.0
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
        await asyncio.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--postgres", default=os.environ.get("ORCHESTRATE_TEST_POSTGRES_URL"))
    parser.add_argument("--only", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    database = Database(args.only, args.postgres)
    try:
        lateness, worst = asyncio.run(measure(database, args.schedules))
    finally:
        database.drop()
    print(f"Machine: {machine()}")
    print(f"Date: {time.strftime('%Y-%m-%d')}; {args.schedules} schedules due at one minute")
    print()
    print("| database | fired | lateness p50 (s) | p99 (s) | max (s) |")
    print("|---|---:|---:|---:|---:|")
    print(
        f"| {args.only} | {len(lateness):,} of {args.schedules:,} | "
        f"{percentile(lateness, 50):.2f} | {percentile(lateness, 99):.2f} | {worst:.2f} |"
    )


if __name__ == "__main__":
    main()
