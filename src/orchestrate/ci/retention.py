"""Retention of the CI test history: recorded reports older than
``retention_ci_results`` (90 days by default, three flaky windows) go with their
per-test results and the tree SHAs nothing refers to any more. Quarantine states, the
tests and repositories they name are kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.ci import _store as store
from orchestrate.core.retention import Retention
from orchestrate.core.retention.rules import Deleted, Key, RetentionRule
from orchestrate.core.uow import UnitOfWork


class _TestRunRule(RetentionRule):
    name = "ci_test_runs"
    setting = "retention_ci_results"
    removes = "recorded CI test reports and their per-test results"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        last = int(after) if after is not None else None
        return list(await store.runs_recorded_before(uow, cutoff, after=last, limit=limit))

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        return Deleted(rows=await store.delete_runs(uow, [int(key) for key in keys], cutoff))


retention = Retention(rules=(_TestRunRule(),))
"""What ``app/capabilities.py`` lists for ci."""
