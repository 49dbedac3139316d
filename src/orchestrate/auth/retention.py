"""Retention of the audit log: records older than ``retention_audit`` (a year by default)."""

from __future__ import annotations

from orchestrate.auth.tables import AuditRecordRow
from orchestrate.core.retention import LogPrefixRule, Retention

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
    )
)
"""What ``app/capabilities.py`` lists for auth."""
