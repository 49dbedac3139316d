"""End to end: `orchestrate worker` as a real process, against a fresh database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from orchestrate.core.db import create_database
from orchestrate.core.jobs.maintenance import PRUNE_KIND
from orchestrate.core.jobs.tables import JobRow

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
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {"ORCHESTRATE_DATABASE_URL": empty_db_url, "ORCHESTRATE_HOME": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "orchestrate", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = await prune_status(empty_db_url)
            except Exception:  # the schema may not exist yet while the worker migrates
                status = None
            if status == "succeeded":
                break
            await asyncio.sleep(0.2)
        assert status == "succeeded", process.stderr.read() if process.poll() is not None else ""
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
