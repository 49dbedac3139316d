"""The triggers capability's SQL for retention: deliveries done with, and what they started.

Private to the triggers capability (``retention.py`` uses it); callers pass an entered
unit of work and commit it themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select

from orchestrate.core.retention import Key
from orchestrate.core.retention.sql import delete_where, keys_where
from orchestrate.core.uow import UnitOfWork
from orchestrate.triggers.models import DeliveryStatus
from orchestrate.triggers.tables import WebhookDeliveryRow

_DONE = (DeliveryStatus.PROCESSED.value, DeliveryStatus.FAILED.value)


def _done_before(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [WebhookDeliveryRow.status.in_(_DONE), WebhookDeliveryRow.received_at < cutoff]


async def done_delivery_ids(
    uow: UnitOfWork, cutoff: datetime, *, after: Key | None, limit: int
) -> list[Key]:
    conditions = _done_before(cutoff)
    return await keys_where(uow, WebhookDeliveryRow.id, conditions, after=after, limit=limit)


async def started_work(uow: UnitOfWork, keys: Sequence[Key]) -> dict[Key, StartedWork]:
    """The runs and agents each delivery started, as recorded in its result."""
    rows = await uow.session.execute(
        select(WebhookDeliveryRow.id, WebhookDeliveryRow.result).where(
            WebhookDeliveryRow.id.in_(keys)
        )
    )
    return {key: StartedWork.of(result) for key, result in rows.all()}


async def delete_done_deliveries(uow: UnitOfWork, keys: Sequence[Key], cutoff: datetime) -> int:
    conditions = [WebhookDeliveryRow.id.in_(keys), *_done_before(cutoff)]
    return await delete_where(uow, WebhookDeliveryRow, conditions)


@dataclass(frozen=True)
class StartedWork:
    """Pipeline runs and agents named in a delivery's result."""

    run_ids: frozenset[str]
    agent_ids: frozenset[str]

    @classmethod
    def of(cls, result: Mapping[str, Any] | None) -> StartedWork:
        result = result or {}
        return cls(
            run_ids=frozenset(_named(result.get("runs"), "run_id")),
            agent_ids=frozenset(_named(result.get("automations"), "agent_id")),
        )


def _named(entries: object, field: str) -> list[str]:
    if not isinstance(entries, list):
        return []
    return [str(entry[field]) for entry in entries if isinstance(entry, dict) and entry.get(field)]
