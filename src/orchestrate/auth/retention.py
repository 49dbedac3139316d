"""Retention of the auth capability: audit records older than ``retention_audit`` (a year
by default), and dashboard sessions that ended more than ``retention_sessions`` ago."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, select

from orchestrate.auth.tables import AuditRecordRow, DashboardSessionRow
from orchestrate.core.retention import Deleted, Key, LogPrefixRule, Retention, RetentionRule
from orchestrate.core.retention.sql import delete_where
from orchestrate.core.uow import UnitOfWork


class EndedSessionsRule(RetentionRule):
    """Sessions that expired, or were signed out or revoked, before the cutoff."""

    name = "dashboard_sessions"
    setting = "retention_sessions"
    removes = "ended dashboard sessions"

    @staticmethod
    def _ended_before(cutoff: datetime) -> ColumnElement[bool]:
        return or_(
            DashboardSessionRow.expires_at < cutoff,
            func.coalesce(DashboardSessionRow.revoked_at, DashboardSessionRow.expires_at) < cutoff,
        )

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        query = (
            select(DashboardSessionRow.id)
            .where(self._ended_before(cutoff))
            .order_by(DashboardSessionRow.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(DashboardSessionRow.id > str(after))
        return [str(key) for key in await uow.session.scalars(query)]

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        conditions = [
            DashboardSessionRow.id.in_([str(k) for k in keys]),
            self._ended_before(cutoff),
        ]
        return Deleted(rows=await delete_where(uow, DashboardSessionRow, conditions))


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
