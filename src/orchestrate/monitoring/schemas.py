"""Response models of the monitoring API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from orchestrate.core.jobs import JobInfo, JobStatus
from orchestrate.monitoring.service import Health


class HealthOut(BaseModel):
    status: str
    version: str
    database: str
    database_reachable: bool
    sandbox: str = Field(description="bubblewrap, or none when agents and steps run unconfined.")
    warnings: list[str] = Field(
        default_factory=list, description="Configuration an operator should know about."
    )

    @classmethod
    def of(cls, health: Health) -> HealthOut:
        return cls(
            status=health.status,
            version=health.version,
            database=health.database,
            database_reachable=health.database_reachable,
            sandbox=health.sandbox,
            warnings=list(health.warnings),
        )


class JobOut(BaseModel):
    id: str
    kind: str
    status: JobStatus
    payload: Any
    """The stored JSON, as written (an object unless someone edited the row)."""
    priority: int
    attempts: int
    max_attempts: int
    run_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    idempotency_key: str | None
    last_error: str | None
    result: Any
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, info: JobInfo) -> JobOut:
        return cls(
            id=info.id,
            kind=info.kind,
            status=info.status,
            payload=info.payload,
            priority=info.priority,
            attempts=info.attempts,
            max_attempts=info.max_attempts,
            run_at=info.run_at,
            lease_owner=info.lease_owner,
            lease_expires_at=info.lease_expires_at,
            idempotency_key=info.idempotency_key,
            last_error=info.last_error,
            result=info.result,
            created_at=info.created_at,
            updated_at=info.updated_at,
            started_at=info.started_at,
            finished_at=info.finished_at,
        )
