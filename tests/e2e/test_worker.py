"""End to end: `orchestrate worker` as a real process, against a fresh database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrate.core.db import create_database
from orchestrate.core.jobs.maintenance import PRUNE_KIND
from orchestrate.core.jobs.tables import JobRow
from tests.e2e.processes import Background, clean_env

pytestmark = pytest.mark.slow


async def prune_status(url: str) -> str | None:
    database = create_database(url)
    try:
        async with database.sessions() as session:
            return await session.scalar(select(JobRow.status).where(JobRow.kind == PRUNE_KIND.name))
    finally:
        await database.dispose()


async def test_a_worker_migrates_runs_its_upkeep_job_and_stops_cleanly_on_sigterm(
    empty_db_url: str, tmp_path: Path
) -> None:
    env = clean_env(tmp_path, DATABASE_URL=empty_db_url)
    worker = Background(env, "worker")
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and worker.process.poll() is None:
            try:
                status = await prune_status(empty_db_url)
            except Exception:  # the schema may not exist yet while the worker migrates
                status = None
            if status == "succeeded":
                break
            await asyncio.sleep(0.2)
    finally:
        code, _, stderr = worker.stop()
    assert status == "succeeded", stderr
    assert code == 0, stderr
