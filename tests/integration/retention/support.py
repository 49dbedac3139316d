"""Reading back what retention left: the ids still stored in each table."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from orchestrate.agents.tables import AgentCallRow, AgentMessageRow, AgentRow, AgentToolCallRow
from orchestrate.auth.tables import AuditRecordRow, DashboardSessionRow
from orchestrate.core.events import EventRow
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines.tables import PipelineRunRow, PipelineStepRow
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow
from orchestrate.triggers.tables import WebhookDeliveryRow

TABLES: dict[str, Any] = {
    "runs": PipelineRunRow.id,
    "steps": PipelineStepRow.id,
    "agents": AgentRow.id,
    "messages": AgentMessageRow.agent_id,
    "calls": AgentCallRow.agent_id,
    "tool_calls": AgentToolCallRow.agent_id,
    "deliveries": WebhookDeliveryRow.id,
    "schedules": ScheduleRow.id,
    "fires": ScheduleFireRow.id,
    "jobs": JobRow.id,
    "events": EventRow.id,
    "audit": AuditRecordRow.id,
    "sessions": DashboardSessionRow.id,
}


async def stored(runtime: Runtime) -> dict[str, set[Any]]:
    """Every table's ids (the agent id for an agent's transcript rows)."""
    found: dict[str, set[Any]] = {}
    async with runtime.uow(read_only=True) as uow:
        for name, column in TABLES.items():
            found[name] = set(await uow.session.scalars(select(column)))
    return found
