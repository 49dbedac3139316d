"""Stored agent runs with known turns, tokens, cost and times, for the analytics tests.

The analytics read what is stored, whatever wrote it, so these write ``agents`` rows as
the runtime leaves them (same states and columns) without running a model.

``seed_runs`` stores this set (times relative to ``NOW``):

=========  =======  =========  =====  ========  ==========  ====  =============
type       model    state      turns  duration  cost        in    out
=========  =======  =========  =====  ========  ==========  ====  =============
developer  m-large  completed  2      10 s      0.100000    100   10
developer  m-large  completed  4      20 s      0.200000    200   20
developer  m-large  failed     6      40 s      0.300001    300   30  (blocked)
developer  m-large  cancelled  0      never     0           0     0   (never started)
developer  m-large  running    9      -         5.000000    900   90  (not counted)
developer  m-small  completed  1      5 s       0.010000    10    1
reviewer   m-small  running    3      -         1.000000    30    3
reviewer   m-small  created    0      -         0           0     0
old-type   m-small  completed  7      60 s      2.000000    70    7   (40 days ago)
=========  =======  =========  =====  ========  ==========  ====  =============
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orchestrate.agents.tables import AgentRow
from orchestrate.core.ids import new_id
from orchestrate.core.runtime import Runtime

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=40)


def agent_row(
    agent_type: str,
    model: str,
    state: str,
    *,
    turns: int = 0,
    seconds: float | None = None,
    cost: str = "0",
    tokens: int = 0,
    created_at: datetime = NOW,
) -> AgentRow:
    """A run created at ``created_at``, started a minute later when ``seconds`` is
    given and, in a final state, finished ``seconds`` after that."""
    started = finished = None
    if seconds is not None:
        started = created_at + timedelta(minutes=1)
    if state in ("completed", "failed", "cancelled"):
        finished = created_at if started is None else started + timedelta(seconds=seconds or 0)
    return AgentRow(
        id=new_id("agent"),
        type=agent_type,
        state=state,
        task="analyse",
        provider="scripted",
        model=model,
        limits={},
        turns=turns,
        input_tokens=tokens,
        output_tokens=tokens // 10,
        cost_usd=Decimal(cost),
        finish_status="blocked" if state == "failed" else None,
        created_at=created_at,
        updated_at=finished or created_at,
        started_at=started,
        finished_at=finished,
    )


def runs() -> list[AgentRow]:
    large, small = "m-large", "m-small"
    return [
        agent_row("developer", large, "completed", turns=2, seconds=10, cost="0.1", tokens=100),
        agent_row("developer", large, "completed", turns=4, seconds=20, cost="0.2", tokens=200),
        agent_row("developer", large, "failed", turns=6, seconds=40, cost="0.300001", tokens=300),
        agent_row("developer", large, "cancelled"),
        agent_row("developer", large, "running", turns=9, seconds=0, cost="5", tokens=900),
        agent_row("developer", small, "completed", turns=1, seconds=5, cost="0.01", tokens=10),
        agent_row("reviewer", small, "running", turns=3, seconds=0, cost="1", tokens=30),
        agent_row("reviewer", small, "created"),
        agent_row(
            "old-type", small, "completed", turns=7, seconds=60, cost="2", tokens=70, created_at=OLD
        ),
    ]


async def seed_runs(runtime: Runtime) -> None:
    async with runtime.uow() as uow:
        for row in runs():
            uow.session.add(row)
        await uow.commit()
