"""The queue's retention rule: succeeded and cancelled jobs go; dead ones stay.

Dead jobs are kept until an operator retries or inspects them. An idempotency key is
remembered as long as its job row exists, so a key can be reused once its job is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement

from orchestrate.core.jobs.models import JobStatus
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.retention.rules import Deleted, Key, RetentionRule
from orchestrate.core.retention.sql import delete_where, keys_where
from orchestrate.core.uow import UnitOfWork

_FINISHED = (JobStatus.SUCCEEDED.value, JobStatus.CANCELLED.value)


def _finished_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [JobRow.status.in_(_FINISHED), JobRow.finished_at < cutoff]


class FinishedJobs(RetentionRule):
    name = "jobs"
    setting = "retention_jobs"
    removes = "succeeded and cancelled jobs (dead jobs stay until retried)"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        return await keys_where(uow, JobRow.id, _finished_before(cutoff), after=after, limit=limit)

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        conditions = [JobRow.id.in_(keys), *_finished_before(cutoff)]
        return Deleted(rows=await delete_where(uow, JobRow, conditions))
