"""Use cases of the triggers capability: receiving GitHub and GitLab webhooks, processing them.

A delivery is checked (size here; signature, headers and JSON by the forge's adapter,
``forges.service``) before anything is stored; a
valid one is handed to the process's ``DeliveryInbox``, which stores it together with
whatever arrived at the same moment and one processing job for them all, in one
transaction (``inbox.py``), so the receiver answers as soon as it is committed and a
stored delivery is never left without a job. GitHub redelivers with the same
``X-GitHub-Delivery``: the unique delivery id turns that into "duplicate" and no
second job. Processing (``processing.py``) marks a delivery ``processed`` in the same
transaction that completes its job, so each delivery's effects are committed exactly
once per (re)delivery.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, ValidationFailed
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.forges import service as forges
from orchestrate.forges.service import MalformedDelivery, SignatureRejected
from orchestrate.repositories import service as repositories
from orchestrate.triggers import _store as store
from orchestrate.triggers import automations, deliveries, processing
from orchestrate.triggers.deliveries import NewDelivery
from orchestrate.triggers.inbox import DeliveryInbox
from orchestrate.triggers.kinds import PROCESS_DELIVERY
from orchestrate.triggers.models import (
    DeliveryStatus,
    DeliverySummary,
    DeliveryTooLarge,
    QueuedDelivery,
    ReceiveOutcome,
    ReceiveResult,
    WebhookDelivery,
)
from orchestrate.triggers.processing import (
    process_delivery,
    register_trigger_jobs,
)
from orchestrate.triggers.waiting import wait_for_processing

__all__ = [
    "MAX_BODY_BYTES",
    "PROCESS_DELIVERY",
    "DeliveryInbox",
    "DeliveryStatus",
    "DeliverySummary",
    "DeliveryTooLarge",
    "Explanation",
    "MalformedDelivery",
    "QueuedDelivery",
    "ReceiveOutcome",
    "ReceiveResult",
    "SignatureRejected",
    "WebhookDelivery",
    "check_body_size",
    "explain_delivery",
    "get_delivery",
    "list_deliveries",
    "process_delivery",
    "receive_delivery",
    "receive_gitlab_delivery",
    "redeliver",
    "register_trigger_jobs",
    "replay_file",
    "wait_for_processing",
]

MAX_BODY_BYTES = 25 * 1024 * 1024
"""GitHub caps payloads at 25 MB and drops larger ones; the default of the
``webhook_max_body_bytes`` setting."""


def check_body_size(length: int, limit: int = MAX_BODY_BYTES) -> None:
    """Refuse a body over ``limit``, the ``webhook_max_body_bytes`` setting (the receiver
    calls this while it reads)."""
    if length > limit:
        raise DeliveryTooLarge(
            f"The delivery body is over the limit of {limit} bytes "
            f"(GitHub's own cap is {MAX_BODY_BYTES // (1024 * 1024)} MB)",
            limit=limit,
        )


async def receive_delivery(
    inbox: DeliveryInbox, settings: Settings, headers: Mapping[str, str], body: bytes
) -> ReceiveResult:
    """Verify one delivery and store it with its processing queued, or report a duplicate.

    Raises ``SignatureRejected`` (unsigned, wrongly signed, or no secret configured),
    ``MalformedDelivery`` and ``DeliveryTooLarge``; nothing is stored then. A ``ping``
    is answered and not stored.
    """
    check_body_size(len(body))
    parsed = forges.parse_github_delivery(settings, headers, body)
    if parsed.ping:
        return ReceiveResult(ReceiveOutcome.PONG, parsed.delivery_id, zen=parsed.zen)
    row_id = await inbox.store(_new_delivery(parsed))
    if row_id is None:
        return ReceiveResult(ReceiveOutcome.DUPLICATE, parsed.delivery_id)
    return ReceiveResult(ReceiveOutcome.ACCEPTED, parsed.delivery_id, id=row_id)


async def receive_gitlab_delivery(
    inbox: DeliveryInbox, settings: Settings, headers: Mapping[str, str], body: bytes
) -> ReceiveResult:
    """Check one GitLab delivery's token and store it with its processing queued, or
    report a duplicate (a delivery id already stored, see ``forges/gitlab/webhooks.py``).

    Raises ``SignatureRejected`` (no token, a wrong one, or no secret configured),
    ``MalformedDelivery`` and ``DeliveryTooLarge``; nothing is stored then.
    """
    check_body_size(len(body), settings.webhook_max_body_bytes)
    parsed = forges.parse_gitlab_delivery(settings, headers, body)
    row_id = await inbox.store(_new_delivery(parsed))
    if row_id is None:
        return ReceiveResult(ReceiveOutcome.DUPLICATE, parsed.delivery_id)
    return ReceiveResult(ReceiveOutcome.ACCEPTED, parsed.delivery_id, id=row_id)


def _new_delivery(parsed: forges.ForgeDelivery) -> NewDelivery:
    return NewDelivery(
        forge=parsed.forge,
        delivery_id=parsed.delivery_id,
        event=parsed.kind,
        action=parsed.action,
        repository=parsed.repository,
        headers=parsed.headers,
        body=parsed.body,
    )


async def list_deliveries(
    uow: UnitOfWork,
    *,
    event: str | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
    forge: str | None = None,
) -> Page[DeliverySummary]:
    """Deliveries newest first (without headers and body), optionally of one forge, event
    or status."""
    check_page_size(limit)
    if forge is not None and forge not in forges.FORGES:
        raise ValidationFailed(
            f"Unknown forge {forge!r}; the known ones are {', '.join(forges.FORGES)}"
        )
    async with uow:
        rows = await store.delivery_page(
            uow, event=event, status=status, limit=limit, cursor=cursor, forge=forge
        )
        items = [deliveries.to_summary(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=deliveries.next_cursor(rows, limit))


async def get_delivery(uow: UnitOfWork, key: str) -> WebhookDelivery:
    """One delivery by its id (``whd_…``) or by the forge's delivery id."""
    async with uow:
        return deliveries.to_delivery(await store.delivery_row(uow, key))


async def redeliver(uow: UnitOfWork, key: str, actor: Actor) -> QueuedDelivery:
    """Process a stored delivery again (after a failure, or once pipelines changed)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await store.delivery_row(uow, key, for_update=True)
        status = DeliveryStatus(row.status)
        if status in (DeliveryStatus.RECEIVED, DeliveryStatus.PROCESSING):
            raise Conflict(
                f"Webhook delivery {row.id} is {status.value}: a job is already on it; "
                f"redeliver it once it is processed or failed",
                delivery=row.id,
                status=status.value,
            )
        deliveries.set_status(uow, row, DeliveryStatus.RECEIVED)
        [job_id] = await processing.enqueue_processing(uow, [row.id])
        await auth.record_audit(
            uow, actor, "webhook.redeliver", row.id, {"delivery_id": row.delivery_id}
        )
        await uow.commit()
        return QueuedDelivery(deliveries.to_delivery(row), job_id)


async def replay_file(
    uow: UnitOfWork, path: Path, event: str, actor: Actor, *, forge: str = forges.GITHUB
) -> QueuedDelivery:
    """Store a payload from a file as a delivery of ``event`` and queue its processing.

    For trying pipelines locally: no signature or token is needed (the caller is
    already trusted); the delivery id is ``replay-<uuid>`` so it never collides with a
    forge's. ``event`` is the forge's event header (``push``; ``Push Hook`` on GitLab,
    where the payload's ``object_kind`` also names it).
    """
    auth.authorize(actor, Permission.WRITE)
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise ValidationFailed(f"Cannot read {path}: {error.strerror or error}") from None
    check_body_size(len(body))
    delivery_id = f"replay-{uuid.uuid4()}"
    if forge == forges.GITLAB:
        headers = forges.gitlab_replay_headers(event, delivery_id)
        new = _new_delivery(forges.read_gitlab_delivery(headers, body))
    elif forge == forges.GITHUB:
        headers = forges.github_replay_headers(event, delivery_id)
        new = _new_delivery(forges.read_github_delivery(headers, body))
    else:
        raise ValidationFailed(
            f"Unknown forge {forge!r}; the known ones are {', '.join(forges.FORGES)}"
        )
    async with uow:
        [row_id] = await store.insert_unless_known(uow, [new])
        if row_id is None:  # pragma: no cover - a fresh UUID
            raise Conflict(f"Delivery id {new.delivery_id} already exists")
        [job_id] = await processing.enqueue_processing(uow, [row_id])
        await auth.record_audit(
            uow,
            actor,
            "webhook.replay",
            row_id,
            {"forge": forge, "event": event, "file": str(path)},
        )
        await uow.commit()
    return QueuedDelivery(await get_delivery(uow.sibling(read_only=True), row_id), job_id)


@dataclass(frozen=True)
class Explanation:
    """What processing a stored delivery would do now; ``webhook explain`` shows it."""

    delivery: WebhookDelivery
    pipelines: list[dict[str, Any]]
    matched: list[str]
    automations: list[dict[str, Any]]


async def explain_delivery(uow: UnitOfWork, settings: Settings, key: str) -> Explanation:
    """Route a stored delivery against the current pipelines and plan its automations.

    Nothing is started: this answers "why did (or would) this delivery start that?".
    """
    delivery = await get_delivery(uow.sibling(read_only=True), key)
    event = deliveries.forge_event(delivery)
    registry = await repositories.repository_index(uow.sibling(read_only=True), settings)
    specs = await processing.pipeline_specs(uow.sibling(read_only=True))
    routed = processing.routed(event, specs, registry)
    planned = [
        automations.describe(plan, registry)
        for plan in automations.plan_automations(event, settings)
    ]
    return Explanation(delivery, routed["pipelines"], routed["matched"], planned)
