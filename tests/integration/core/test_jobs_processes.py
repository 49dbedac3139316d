"""The job queue across worker processes: exactly-once execution and crash recovery."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from orchestrate.core.events import EventRow
from orchestrate.core.jobs import JobStatus, NewJob, enqueue_many
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from tests.job_kinds import Note, note_kind

WORKER_SCRIPT = Path(__file__).with_name("job_worker_process.py")

pytestmark = pytest.mark.slow


class Workers:
    """Worker processes started from the script above, all stopped at the end."""

    def __init__(self, db_url: str, log_dir: Path, lease_seconds: float) -> None:
        self.log_dir = log_dir
        self.env = {
            **os.environ,
            "ORCHESTRATE_DATABASE_URL": db_url,
            "ORCHESTRATE_HOME": str(log_dir / "home"),
            "ORCHESTRATE_LOG_LEVEL": "warning",
            "TEST_LOG_DIR": str(log_dir),
            "TEST_LEASE_SECONDS": str(lease_seconds),
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1) -> list[subprocess.Popen[bytes]]:
        started = []
        for _ in range(count):
            process = subprocess.Popen(
                [sys.executable, str(WORKER_SCRIPT)],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            self.processes.append(process)
            started.append(process)
        for process in started:
            self.wait_for_line(process, "ready")
        return started

    def log_of(self, process: subprocess.Popen[bytes]) -> Path:
        return self.log_dir / f"worker-{process.pid}.log"

    def lines(self) -> list[str]:
        return [
            line
            for path in self.log_dir.glob("worker-*.log")
            for line in path.read_text().splitlines()
        ]

    def wait_for_line(
        self, process: subprocess.Popen[bytes], prefix: str, timeout: float = 30
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            path = self.log_of(process)
            if path.exists() and any(
                line.startswith(prefix) for line in path.read_text().splitlines()
            ):
                return
            if process.poll() is not None:
                raise AssertionError(f"worker exited with {process.returncode} before '{prefix}'")
            time.sleep(0.05)
        raise AssertionError(f"worker did not log '{prefix}' within {timeout}s")

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def workers(db_url: str, tmp_path: Path) -> Iterator[Workers]:
    pool = Workers(db_url, tmp_path, lease_seconds=2.0)
    try:
        yield pool
    finally:
        pool.stop_all()


async def enqueue_records(runtime: Runtime, count: int, kind: str = "test.record") -> list[str]:
    job_kind = note_kind(kind)
    async with runtime.uow() as uow:
        ids = await enqueue_many(uow, [NewJob(job_kind, Note(n=n)) for n in range(count)])
        await uow.commit()
    return ids


async def wait_until_finished(runtime: Runtime, ids: list[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with runtime.uow(read_only=True) as uow:
            unfinished = await uow.session.scalar(
                select(func.count())
                .select_from(JobRow)
                .where(JobRow.id.in_(ids), JobRow.status != JobStatus.SUCCEEDED.value)
            )
        if unfinished == 0:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{unfinished} jobs still unfinished after {timeout}s")


async def effects_per_job(runtime: Runtime) -> Counter[str]:
    async with runtime.uow(read_only=True) as uow:
        subjects = await uow.session.scalars(
            select(EventRow.subject).where(EventRow.type == "test.effect")
        )
        return Counter(subjects)


async def test_two_thousand_jobs_over_several_worker_processes_each_run_exactly_once(
    runtime: Runtime, workers: Workers, engine_name: str
) -> None:
    processes = workers.start(4 if engine_name == "postgresql" else 2)
    ids = await enqueue_records(runtime, 2000)

    await wait_until_finished(runtime, ids)
    workers.stop_all()

    runs = Counter(line.split()[1] for line in workers.lines() if line.startswith("run "))
    assert set(runs) == set(ids)
    assert max(runs.values()) == 1, "a job was executed more than once"
    effects = await effects_per_job(runtime)
    assert effects == Counter(dict.fromkeys(ids, 1))
    busy = [
        p
        for p in processes
        if any(line.startswith("run ") for line in workers.log_of(p).read_text().splitlines())
    ]
    assert len(busy) >= 2, "the work should be shared by the workers"


async def test_a_job_of_a_killed_worker_is_finished_by_another_after_its_lease_expires(
    runtime: Runtime, workers: Workers
) -> None:
    (doomed,) = workers.start(1)
    (job_id,) = await enqueue_records(runtime, 1, kind="test.hang_first")
    workers.wait_for_line(doomed, f"start {job_id} 1")

    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    (survivor,) = workers.start(1)
    await wait_until_finished(runtime, [job_id], timeout=60)

    async with runtime.uow(read_only=True) as uow:
        row = await uow.session.get(JobRow, job_id)
    assert row is not None
    assert (row.status, row.attempts) == (JobStatus.SUCCEEDED, 2)
    assert f"run {job_id} 2" in workers.log_of(survivor).read_text()
    assert await effects_per_job(runtime) == Counter({job_id: 1})
