"""Retention of the auth capability: audit records older than ``retention_audit`` (a year
by default), and dashboard sessions that ended more than ``retention_sessions`` ago."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.auth import _store as store
from orchestrate.auth.tables import AuditRecordRow
from orchestrate.core.retention import Deleted, Key, LogPrefixRule, Retention, RetentionRule
from orchestrate.core.uow import UnitOfWork


class EndedSessionsRule(RetentionRule):
    """Sessions that expired, or were signed out or revoked, before the cutoff."""

    name = "dashboard_sessions"
    setting = "retention_sessions"
    removes = "ended dashboard sessions"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        start = None if after is None else str(after)
        return list(await store.ended_session_ids(uow, cutoff, after=start, limit=limit))

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        return Deleted(rows=await store.delete_ended_sessions(uow, [str(k) for k in keys], cutoff))


retention = Retention(
    rules=(
        LogPrefixRule(
            name="audit_log",
            setting="retention_audit",
            removes="audit records",
            table=AuditRecordRow,
            id_column=AuditRecordRow.id,
            time_column=AuditRecordRow.created_at,
        ),
        EndedSessionsRule(),
    )
)
"""What ``app/capabilities.py`` lists for auth."""
