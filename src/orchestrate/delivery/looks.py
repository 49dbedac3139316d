"""The shepherd's queue of looks and its record of moves, shared by the shepherd and its
fixers: ``request_look`` queues a look at a pull request (at most one queued early),
``finish_move_in`` closes a move. See ``shepherd.py`` for what a look does."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobKind, JobPayload, enqueue
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import _store as store
from orchestrate.delivery.models import MoveStatus, ShepherdState
from orchestrate.delivery.tables import PullRequestRow, ShepherdMoveRow

ACTOR = Actor.system("shepherd")


class ShepherdLook(JobPayload):
    """Look at pull request ``pull_request_id`` (a row of ``pull_requests``) and move it."""

    pull_request_id: str


LOOK = JobKind("delivery.shepherd", ShepherdLook)


async def request_look(uow: UnitOfWork, row: PullRequestRow, *, at: datetime | None = None) -> None:
    """Queue a look at ``row``'s pull request at ``at`` (now by default), in the caller's
    entered transaction, unless one is queued for no later than that already."""
    if row.shepherd_state == ShepherdState.DONE.value:
        return
    now = uow.now()
    when = max(at or now, now)
    queued = row.shepherd_next_at
    if queued is not None and now < queued <= when:
        return
    row.shepherd_ticks = (row.shepherd_ticks or 0) + 1
    row.shepherd_next_at = when
    await enqueue(
        uow,
        LOOK,
        ShepherdLook(pull_request_id=row.id),
        key=f"{LOOK.name}:{row.id}:{row.shepherd_ticks}",
        run_at=when if when > now else None,
    )


async def finish_move_in(
    uow: UnitOfWork,
    move_id: str,
    status: MoveStatus,
    reason: str,
    detail: dict[str, Any] | None = None,
    *,
    cost_usd: Decimal | None = None,
) -> ShepherdMoveRow | None:
    """Mark a started move finished, in the caller's entered transaction."""
    row = await store.move_by_id(uow, move_id, for_update=True)
    if row is None or row.status != MoveStatus.STARTED.value:
        return row
    row.status = status.value
    row.reason = reason[:1000]
    row.finished_at = uow.now()
    if detail:
        row.detail = {**(row.detail or {}), **detail}
    if cost_usd is not None:
        row.cost_usd = cost_usd
    return row
