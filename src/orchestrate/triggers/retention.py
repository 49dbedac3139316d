"""Retention of webhook deliveries: processed and failed ones go, body and all.

A delivery stays while what it started is live (a pipeline run not ended, an agent
still working), so ``webhook show`` can still explain a run in progress. Deliveries
still ``received`` or ``processing`` are never pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from orchestrate.agents import service as agents
from orchestrate.core.retention import Deleted, Key, Retention, RetentionRule
from orchestrate.core.uow import UnitOfWork
from orchestrate.pipelines import service as pipelines
from orchestrate.triggers import _store as store


class DoneDeliveries(RetentionRule):
    name = "webhook_deliveries"
    setting = "retention_deliveries"
    removes = "processed and failed webhook deliveries, with their stored body"

    async def candidates(
        self, uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
    ) -> list[Key]:
        return await store.done_delivery_ids(uow, cutoff, after=after, limit=limit)

    async def still_needed(self, uow: UnitOfWork, keys: Sequence[Key]) -> set[Key]:
        started = await store.started_work(uow, keys)
        run_ids = sorted({run for work in started.values() for run in work.run_ids})
        agent_ids = sorted({agent for work in started.values() for agent in work.agent_ids})
        live_runs = await pipelines.live_runs_within(uow, run_ids)
        live_agents = await agents.live_agents_within(uow, agent_ids)
        return {
            key
            for key, work in started.items()
            if work.run_ids & live_runs or work.agent_ids & live_agents
        }

    async def delete(self, uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> Deleted:
        return Deleted(rows=await store.delete_done_deliveries(uow, keys, cutoff))


retention = Retention(rules=(DoneDeliveries(),))
"""What ``app/capabilities.py`` lists for triggers."""
