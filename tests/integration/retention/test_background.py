"""The hourly background job runs every retention rule the application has."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from orchestrate.app.worker import build_registry
from orchestrate.core.clock import FrozenClock
from orchestrate.core.jobs import JobRunner, JobStatus, RunnerConfig
from orchestrate.core.jobs.maintenance import PRUNE_KIND, schedule_maintenance
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from tests.integration.retention.rows import Rows
from tests.integration.retention.support import stored

FAST = RunnerConfig(poll_max=timedelta(milliseconds=50))


async def test_the_hourly_job_prunes_with_every_rule_and_records_what_it_removed(
    frozen_runtime: Runtime, rows: Rows, tmp_path: Path
) -> None:
    run_id, _ = await rows.run(logs=tmp_path / "logs")
    await rows.agent(workspace=tmp_path / "agent")
    await rows.delivery()
    schedule_id = await rows.schedule()
    await rows.fire(schedule_id, "skipped")
    await rows.job()
    await rows.event()
    await rows.audit()
    await rows.dashboard_session()
    live_job = await rows.job("queued")
    assert isinstance(frozen_runtime.clock, FrozenClock)
    frozen_runtime.clock.advance(timedelta(days=400))

    await schedule_maintenance(frozen_runtime)
    runner = JobRunner(frozen_runtime, build_registry(frozen_runtime), FAST)
    await runner.run(until_idle=True)

    left = await stored(frozen_runtime)
    assert left["runs"] == left["agents"] == left["deliveries"] == left["fires"] == set()
    assert left["audit"] == left["sessions"] == set()
    assert not (tmp_path / "logs" / run_id).exists()
    assert not (tmp_path / "agent").exists()
    async with frozen_runtime.uow(read_only=True) as uow:
        job = await uow.session.scalar(select(JobRow).where(JobRow.kind == PRUNE_KIND.name))
        queued = await uow.session.get(JobRow, live_job)
    assert job is not None
    assert job.status == JobStatus.SUCCEEDED
    assert job.result == {
        "audit_log": {"rows": 3, "files": 0},  # ours, the token's creation, the sign-in
        "agents": {"rows": 1, "files": 1},
        "pipeline_runs": {"rows": 1, "files": 1},
        "webhook_deliveries": {"rows": 1, "files": 0},
        "schedule_fires": {"rows": 1, "files": 0},
        "jobs": {"rows": 1, "files": 0},
        "events": {"rows": 1, "files": 0},
        "dashboard_sessions": {"rows": 1, "files": 0},
        "cost_entries": {"rows": 0, "files": 0},
        "notification_log": {"rows": 0, "files": 0},
        "alerts": {"rows": 0, "files": 0},
        "ci_test_runs": {"rows": 0, "files": 0},
        "security_scans": {"rows": 0, "files": 0},
    }
    assert queued is not None  # the runner never claimed it: no handler for its kind
