"""Retention of the notification log: entries older than ``retention_notifications``
(30 days by default). Channels are kept."""

from __future__ import annotations

from orchestrate.core.retention import LogPrefixRule, Retention
from orchestrate.monitoring.channels.tables import NotificationLogRow

retention = Retention(
    rules=(
        LogPrefixRule(
            name="notification_log",
            setting="retention_notifications",
            removes="notification log entries",
            table=NotificationLogRow,
            id_column=NotificationLogRow.id,
            time_column=NotificationLogRow.sent_at,
        ),
    )
)
"""What ``app/capabilities.py`` lists for monitoring."""
