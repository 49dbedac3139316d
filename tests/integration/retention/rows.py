"""Builders of stored rows for retention tests: finished or live, at the clock's time.

Retention acts on what is stored, whatever wrote it, so these write rows as the
capabilities do (same tables, same states), without running pipelines or agents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from orchestrate.agents.tables import AgentCallRow, AgentMessageRow, AgentRow, AgentToolCallRow
from orchestrate.agents.workspaces import create_workspace
from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.events import record_event
from orchestrate.core.events.tables import EventRow
from orchestrate.core.ids import new_id
from orchestrate.core.jobs.events import JobCancelled
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.channels.tables import NotificationLogRow
from orchestrate.pipelines.tables import PipelineRunRow, PipelineStepRow
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow
from orchestrate.triggers.tables import WebhookDeliveryRow

FINISHED_RUN = "success"
FINISHED_AGENT = "completed"


@dataclass
class Rows:
    """Writes rows on one runtime; each builder commits its own transaction."""

    runtime: Runtime
    _run_number: int = 0
    _fires: int = 0

    def now(self) -> datetime:
        return self.runtime.clock.now()

    async def _add(self, *rows: Any) -> None:
        async with self.runtime.uow() as uow:
            for row in rows:
                uow.session.add(row)
                await uow.session.flush()
            await uow.commit()

    async def run(
        self,
        status: str = FINISHED_RUN,
        *,
        steps: int = 1,
        logs: Path | None = None,
        workspace: Path | None = None,
        parent_step_id: str | None = None,
        rerun_of: str | None = None,
        agent_id: str | None = None,
    ) -> tuple[str, list[str]]:
        """A run and its steps; with ``logs``, each step's log file under ``logs/<run>/``."""
        self._run_number += 1
        now = self.now()
        run_id = new_id("run")
        finished = now if status in ("success", "failure", "cancelled") else None
        run = PipelineRunRow(
            id=run_id,
            pipeline="ci",
            number=self._run_number,
            status=status,
            spec={},
            inputs={},
            trigger={},
            trigger_kind="manual",
            parent_step_id=parent_step_id,
            rerun_of=rerun_of,
            workspace_path=str(workspace) if workspace else None,
            created_by="test",
            created_at=now,
            updated_at=now,
            started_at=now,
            finished_at=finished,
        )
        step_rows = []
        for position in range(steps):
            log_path = None
            if logs is not None:
                log_file = logs / run_id / f"step{position}.log"
                log_file.parent.mkdir(parents=True, exist_ok=True)
                log_file.write_text("hello\n")
                log_file.with_suffix(".1.outputs").write_text("")
                log_path = str(log_file)
            step_rows.append(
                PipelineStepRow(
                    id=new_id("step"),
                    run_id=run_id,
                    key=f"step{position}",
                    step_id=f"step{position}",
                    position=position,
                    status="success" if finished else "running",
                    outputs={},
                    approvals=[],
                    agent_id=agent_id if position == 0 else None,
                    log_path=log_path,
                    updated_at=now,
                    finished_at=finished,
                )
            )
        if workspace is not None:
            workspace.mkdir(parents=True, exist_ok=True)
        await self._add(run, *step_rows)
        return run_id, [row.id for row in step_rows]

    async def agent(
        self,
        state: str = FINISHED_AGENT,
        *,
        parent_id: str | None = None,
        workspace: Path | None = None,
        worktree_of: Path | None = None,
        messages: int = 2,
    ) -> str:
        """An agent run with a transcript, one provider call and one tool call; its
        workspace a scratch folder, or a real worktree of the repository ``worktree_of``."""
        now = self.now()
        agent_id = new_id("agent")
        finished = now if state in ("completed", "failed", "cancelled") else None
        branch = None
        if worktree_of is not None:
            made = await create_workspace(worktree_of, agent_id, "retention-test")
            workspace, branch = made.path, made.branch
        elif workspace is not None:
            workspace.mkdir(parents=True, exist_ok=True)
            (workspace / "notes.txt").write_text("scratch")
        agent = AgentRow(
            id=agent_id,
            type="developer",
            state=state,
            task="fix it",
            parent_id=parent_id,
            provider="scripted",
            model="m",
            workspace_path=str(workspace) if workspace else None,
            repo_path=str(worktree_of) if worktree_of else None,
            branch=branch,
            limits={},
            created_at=now,
            updated_at=now,
            finished_at=finished,
        )
        children: list[Any] = [
            AgentMessageRow(agent_id=agent_id, seq=seq, role="user", content=[], created_at=now)
            for seq in range(messages)
        ]
        children.append(
            AgentCallRow(
                agent_id=agent_id,
                turn=1,
                model="m",
                input_tokens=1,
                output_tokens=1,
                cache_read_tokens=0,
                cache_write_tokens=0,
                cost_usd=Decimal(0),
                duration_ms=1,
                created_at=now,
            )
        )
        children.append(
            AgentToolCallRow(
                agent_id=agent_id,
                tool_use_id="t1",
                turn=1,
                name="read",
                input={},
                status="done",
                created_at=now,
            )
        )
        await self._add(agent, *children)
        return agent_id

    async def delivery(
        self, status: str = "processed", *, result: dict[str, Any] | None = None
    ) -> str:
        delivery_id = new_id("whd")
        await self._add(
            WebhookDeliveryRow(
                id=delivery_id,
                delivery_id=new_id("gh"),
                event="push",
                headers={},
                body="{}" * 100,
                status=status,
                received_at=self.now(),
                processed_at=self.now() if status == "processed" else None,
                result=result,
            )
        )
        return delivery_id

    async def schedule(self) -> str:
        schedule_id = new_id("sched")
        now = self.now()
        await self._add(
            ScheduleRow(
                id=schedule_id,
                name=schedule_id,
                cron="0 * * * *",
                timezone="UTC",
                target_kind="pipeline",
                pipeline="ci",
                inputs={},
                misfire_policy="skip",
                misfire_cap=1,
                overlap_policy="allow",
                source="test",
                next_fire_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        return schedule_id

    async def fire(
        self,
        schedule_id: str,
        outcome: str = "started",
        *,
        run_id: str | None = None,
        agent_id: str | None = None,
    ) -> str:
        fire_id = new_id("fire")
        self._fires += 1  # a schedule fires once per fire time
        await self._add(
            ScheduleFireRow(
                id=fire_id,
                schedule_id=schedule_id,
                fire_time=self.now() - timedelta(minutes=self._fires),
                fired_at=self.now(),
                outcome=outcome,
                run_id=run_id,
                agent_id=agent_id,
            )
        )
        return fire_id

    async def job(self, status: str = "succeeded") -> str:
        now = self.now()
        job_id = new_id("job")
        await self._add(
            JobRow(
                id=job_id,
                kind="test.work",
                payload={},
                status=status,
                max_attempts=1,
                run_at=now,
                created_at=now,
                updated_at=now,
                finished_at=now if status in ("succeeded", "cancelled", "dead") else None,
            )
        )
        return job_id

    async def event(self) -> int:
        async with self.runtime.uow() as uow:
            record_event(uow, JobCancelled(subject="job_old", kind="test.work"))
            await uow.commit()
        async with self.runtime.uow(read_only=True) as uow:
            newest = await uow.session.scalar(select(func.max(EventRow.id)))
            return int(newest or 0)

    async def dashboard_session(self) -> str:
        """A token (kept: tokens are not pruned) and a dashboard session opened with it."""
        actor = Actor(name="test", role=Role.ADMIN, source="test")
        issued = await auth.create_token(self.runtime.uow(), "retention-viewer", Role.VIEWER, actor)
        login = await auth.open_dashboard_session(
            self.runtime.uow(), issued.secret, "test", timedelta(hours=12)
        )
        return login.session.id

    async def audit(self) -> None:
        actor = Actor(name="test", role=Role.ADMIN, source="test")
        async with self.runtime.uow() as uow:
            await auth.record_audit(uow, actor, "test.act", "subject")
            await uow.commit()

    async def notification(self) -> None:
        """An attempt at a send in the notification log."""
        await self._add(
            NotificationLogRow(
                channel="ops-hook",
                notification_id="ntf_old",
                group_key='{}:{alertname="Old"}',
                group_hash="0" * 64,
                status="firing",
                sent_at=self.now(),
                queued_at=self.now(),
                attempt=1,
                outcome="sent",
                error=None,
            )
        )
