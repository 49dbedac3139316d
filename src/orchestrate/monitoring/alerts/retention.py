"""Retention of alerting: alerts resolved, and silences ended, more than
``retention_alerts`` ago (30 days by default). Open alerts and groups are kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.core.retention import Deleted, Key, Retention, RetentionRule
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.alerts import _store as store


class ResolvedAlertsRule(RetentionRule):
    name = "alerts"
    setting = "retention_alerts"
    removes = "resolved alerts and ended silences"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        start = None if after is None else str(after)
        alerts = await store.resolved_before(uow, cutoff, start, limit)
        silences = await store.expired_silences_before(uow, cutoff, start, limit)
        return list(sorted([*alerts, *silences])[:limit])

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        ids = [str(key) for key in keys]
        alerts = await store.delete_alerts(uow, [i for i in ids if i.startswith("alr_")], cutoff)
        silences = await store.delete_silences(
            uow, [i for i in ids if i.startswith("sil_")], cutoff
        )
        return Deleted(rows=alerts + silences)


retention = Retention(rules=(ResolvedAlertsRule(),))
"""What ``app/capabilities.py`` lists for alerting."""
