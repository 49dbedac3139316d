"""Retention of recorded security scans: scans finished more than
``retention_security_scans`` ago (90 days by default) go with their findings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.core.retention import Retention
from orchestrate.core.retention.rules import Deleted, Key, RetentionRule
from orchestrate.core.uow import UnitOfWork
from orchestrate.security import _store as store


class _ScanRule(RetentionRule):
    name = "security_scans"
    setting = "retention_security_scans"
    removes = "recorded security scans and their findings"
    batch_size = 50  # a scan of git history can hold thousands of findings

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        last = str(after) if after is not None else None
        return list(await store.scans_finished_before(uow, cutoff, last, limit))

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        return Deleted(rows=await store.delete_scans(uow, [str(key) for key in keys], cutoff))


retention = Retention(rules=(_ScanRule(),))
"""What ``app/capabilities.py`` lists for security."""
