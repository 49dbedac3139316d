"""The kernel's rule for the event log: old events go, never those a consumer still needs."""

from __future__ import annotations

from orchestrate.core.events import EventRow
from orchestrate.core.retention.logs import Floor, LogPrefixRule


def event_log_rule(floor: Floor) -> LogPrefixRule:
    """Events older than ``retention_events``, below ``floor`` (the slowest durable
    consumer's position, which the composition root supplies)."""
    return LogPrefixRule(
        name="events",
        setting="retention_events",
        removes="events of the event log, never at or after the slowest durable "
        "consumer's position",
        table=EventRow,
        id_column=EventRow.id,
        time_column=EventRow.created_at,
        floor=floor,
    )
