"""Request and response bodies of the schedules API (and ``schedule … --json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from orchestrate.schedules.cron import MisfirePolicy
from orchestrate.schedules.models import (
    FireOutcome,
    NewSchedule,
    OverlapPolicy,
    Schedule,
    ScheduleFire,
    TargetKind,
)


class ScheduleIn(BaseModel):
    """A schedule to create (``POST``) or the whole new definition (``PUT``)."""

    name: str = Field(min_length=1, max_length=200)
    cron: str | None = Field(default=None, description="Five-field cron or @daily and friends.")
    template: str | None = Field(
        default=None,
        description="Instead of cron: hourly, daily, weekly, nightly-security, dependency-check.",
    )
    timezone: str = Field(default="UTC", description="IANA zone the cron is read in.")
    pipeline: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    agent: str | None = Field(default=None, description="Agent type, instead of a pipeline.")
    task: str | None = Field(default=None, description="The agent's task.")
    misfire: MisfirePolicy = MisfirePolicy.LATEST
    misfire_cap: int = Field(default=10, ge=1, le=1000)
    overlap: OverlapPolicy = OverlapPolicy.SKIP

    def to_request(self, source: str) -> NewSchedule:
        return NewSchedule(
            name=self.name,
            cron=self.cron,
            template=self.template,
            timezone=self.timezone,
            pipeline=self.pipeline,
            inputs=self.inputs,
            agent_type=self.agent,
            task=self.task,
            misfire_policy=self.misfire,
            misfire_cap=self.misfire_cap,
            overlap_policy=self.overlap,
            source=source,
        )


class ScheduleOut(BaseModel):
    id: str
    name: str
    cron: str
    timezone: str
    description: str = Field(description="The cron expression in words.")
    target: TargetKind
    pipeline: str | None
    inputs: dict[str, Any]
    agent: str | None
    task: str | None
    misfire: MisfirePolicy
    misfire_cap: int
    overlap: OverlapPolicy
    paused: bool
    source: str = Field(
        description="cli, api, dashboard, or pipeline:<name> for YAML `on: schedule`."
    )
    next_fire_at: datetime | None = Field(description="UTC; null while paused.")
    last_fired_at: datetime | None
    upcoming: list[datetime] = Field(description="Next fire times in UTC (show only).")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, schedule: Schedule) -> ScheduleOut:
        return cls(
            id=schedule.id,
            name=schedule.name,
            cron=schedule.cron,
            timezone=schedule.timezone,
            description=schedule.description,
            target=schedule.target_kind,
            pipeline=schedule.pipeline,
            inputs=schedule.inputs,
            agent=schedule.agent_type,
            task=schedule.task,
            misfire=schedule.misfire_policy,
            misfire_cap=schedule.misfire_cap,
            overlap=schedule.overlap_policy,
            paused=schedule.is_paused,
            source=schedule.source,
            next_fire_at=schedule.next_fire_at,
            last_fired_at=schedule.last_fired_at,
            upcoming=schedule.upcoming,
            created_at=schedule.created_at,
            updated_at=schedule.updated_at,
        )


class ScheduleFireOut(BaseModel):
    id: str
    schedule_id: str
    fire_time: datetime
    fired_at: datetime
    outcome: FireOutcome
    manual: bool = Field(description="Fired by `schedule trigger` / POST …/trigger.")
    run_id: str | None
    agent_id: str | None
    reason: str | None = Field(description="Why it was skipped, queued or failed.")

    @classmethod
    def of(cls, fire: ScheduleFire) -> ScheduleFireOut:
        return cls(
            id=fire.id,
            schedule_id=fire.schedule_id,
            fire_time=fire.fire_time,
            fired_at=fire.fired_at,
            outcome=fire.outcome,
            manual=fire.is_manual,
            run_id=fire.run_id,
            agent_id=fire.agent_id,
            reason=fire.reason,
        )
