"""A small ledger written through the service, as the agent loop writes it.

| day        | agent type      | model   | story | pipeline | calls | cost      |
|------------|-----------------|---------|-------|----------|-------|-----------|
| 2026-11-20 | reviewer        | m-small | —     | —        | 1     | $0.100000 |
| 2026-12-01 | story-developer | m-large | st_1  | release  | 2     | $1.500000 |
| 2026-12-02 | story-developer | m-small | st_1  | —        | 1     | $0.250000 |
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from orchestrate.core.clock import FrozenClock
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service

ROWS = [
    (datetime(2026, 11, 20, 9, tzinfo=UTC), "reviewer", "m-small", None, None, "0.1"),
    (datetime(2026, 12, 1, 10, tzinfo=UTC), "story-developer", "m-large", "st_1", "release", "1"),
    (datetime(2026, 12, 1, 23, tzinfo=UTC), "story-developer", "m-large", "st_1", "release", "0.5"),
    (datetime(2026, 12, 2, 8, tzinfo=UTC), "story-developer", "m-small", "st_1", None, "0.25"),
]


async def seed_ledger(runtime: Runtime) -> None:
    clock = FrozenClock()
    seeding = Runtime(settings=runtime.settings, database=runtime.database, clock=clock)
    for index, (moment, agent_type, model, story, pipeline, dollars) in enumerate(ROWS):
        clock.set(moment)
        async with seeding.uow() as uow:
            await service.record_call_cost(
                uow,
                service.CostEntry(
                    model=model,
                    provider="anthropic",
                    agent_id=f"agent_{index}",
                    agent_type=agent_type,
                    input_tokens=1000,
                    output_tokens=100,
                    cache_read_tokens=10,
                    cache_write_tokens=1,
                    cost_usd=Decimal(dollars),
                    story_id=story,
                    pipeline=pipeline,
                    pipeline_run_id="run_1" if pipeline else None,
                ),
            )
            await uow.commit()
