"""Retention of schedule fires: the record of each fire time, once its outcome is settled.

Fires still ``pending`` or ``queued`` (waiting for an earlier run to end) are never
pruned. A settled fire stays while the run or agent it started is live, and each
schedule's latest started fire stays whatever its age: the overlap policy compares
the next fire with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.agents import service as agents
from orchestrate.core.retention import Deleted, Key, Retention, RetentionRule
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import service as pipelines
from orchestrate.schedules import _store as store
from orchestrate.schedules.models import FireOutcome


class SettledFires(RetentionRule):
    name = "schedule_fires"
    setting = "retention_schedule_fires"
    removes = "schedule fires that started, skipped or failed (the schedules stay)"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        return await store.settled_fire_ids(uow, cutoff, after=after, limit=limit)

    async def still_needed(self, uow: UnitOfWork, keys: Sequence[Key]) -> set[Key]:
        fires = await store.fire_references(uow, keys)
        run_ids = sorted({fire.run_id for fire in fires.values() if fire.run_id})
        agent_ids = sorted({fire.agent_id for fire in fires.values() if fire.agent_id})
        live_runs = await pipelines.live_runs_within(uow, run_ids)
        live_agents = await agents.live_agents_within(uow, agent_ids)
        needed = {
            key
            for key, fire in fires.items()
            if fire.run_id in live_runs or fire.agent_id in live_agents
        }
        started = {f.schedule_id for f in fires.values() if f.outcome == FireOutcome.STARTED}
        for schedule_id in started:
            latest = await store.last_started(uow, schedule_id)
            if latest is not None:
                needed.add(latest.id)
        return needed

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        return Deleted(rows=await store.delete_settled_fires(uow, keys, cutoff))


retention = Retention(rules=(SettledFires(),))
"""What ``app/capabilities.py`` lists for schedules."""
