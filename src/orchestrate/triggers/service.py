"""Use cases of the triggers capability: receiving GitHub webhooks and processing them.

A delivery is checked (size, signature, headers, JSON) before anything is stored; a
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
import json
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
from orchestrate.secrets import service as secret_store
from orchestrate.triggers import automations, deliveries, processing, routing
from orchestrate.triggers.deliveries import NewDelivery
from orchestrate.triggers.inbox import DeliveryInbox
from orchestrate.triggers.models import (
    DeliveryStatus,
    DeliverySummary,
    DeliveryTooLarge,
    MalformedDelivery,
    QueuedDelivery,
    ReceiveOutcome,
    ReceiveResult,
    SignatureRejected,
    WebhookDelivery,
)
from orchestrate.triggers.processing import (
    PROCESS_DELIVERY,
    process_delivery,
    register_trigger_jobs,
)
from orchestrate.triggers.signatures import SIGNATURE_HEADER, verify_signature
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
    "redeliver",
    "register_trigger_jobs",
    "replay_file",
    "wait_for_processing",
]

MAX_BODY_BYTES = 25 * 1024 * 1024
"""GitHub caps payloads at 25 MB and drops larger ones; the default of the
``webhook_max_body_bytes`` setting."""

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SECRET_SETTING = "ORCHESTRATE_GITHUB_WEBHOOK_SECRET"  # noqa: S105 - a name, not a secret
STORED_SECRET = "GITHUB_WEBHOOK_SECRET"  # noqa: S105 - the name of a secret-store entry

_MAX_NAME_LENGTH = 100  # the event, action and delivery id columns
_MAX_REPOSITORY_LENGTH = 300


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
    normalized = {name.lower(): value for name, value in headers.items()}
    _authenticate(settings, body, normalized.get(SIGNATURE_HEADER.lower()))
    new, payload = _parse(normalized, body)
    if new.event == "ping":
        zen = payload.get("zen")
        return ReceiveResult(
            ReceiveOutcome.PONG, new.delivery_id, zen=zen if isinstance(zen, str) else None
        )
    row_id = await inbox.store(new)
    if row_id is None:
        return ReceiveResult(ReceiveOutcome.DUPLICATE, new.delivery_id)
    return ReceiveResult(ReceiveOutcome.ACCEPTED, new.delivery_id, id=row_id)


def _authenticate(settings: Settings, body: bytes, signature: str | None) -> None:
    secrets = settings.github_webhook_secrets
    # The secret store's copy is kept loaded in memory (refreshed every few seconds):
    # no query per delivery.
    stored = secret_store.cached_secret_value(STORED_SECRET)
    if stored:
        secrets = [*secrets, stored]
    if not secrets:
        if settings.github_webhook_insecure:
            return
        raise SignatureRejected(
            f"No webhook secret is configured, so every delivery is refused: set "
            f"{SECRET_SETTING} (or the stored secret {STORED_SECRET}) to the secret of "
            f"the GitHub webhook (or "
            f"ORCHESTRATE_GITHUB_WEBHOOK_INSECURE=true to accept unsigned deliveries "
            f"while trying things locally)"
        )
    if not signature:
        raise SignatureRejected(
            f"The delivery has no {SIGNATURE_HEADER} header: give the GitHub webhook "
            f"a secret, the same as {SECRET_SETTING}"
        )
    if not verify_signature(body, signature, secrets):
        raise SignatureRejected(
            f"The {SIGNATURE_HEADER} signature does not match the body under any "
            f"configured secret: check that the webhook's secret on GitHub is one of "
            f"{SECRET_SETTING}"
        )


def _parse(headers: Mapping[str, str], body: bytes) -> tuple[NewDelivery, dict[str, Any]]:
    """The delivery's identity from its headers and the JSON object of its body."""
    event = headers.get(EVENT_HEADER.lower(), "").strip()
    delivery_id = headers.get(DELIVERY_HEADER.lower(), "").strip()
    named = ((EVENT_HEADER, event), (DELIVERY_HEADER, delivery_id))
    missing = [name for name, value in named if not value]
    if missing:
        raise MalformedDelivery(
            f"The delivery has no {' and no '.join(missing)} header; GitHub sends both "
            f"with every delivery",
            missing=missing,
        )
    for name, value in named:
        if len(value) > _MAX_NAME_LENGTH:
            raise MalformedDelivery(
                f"The {name} header is longer than {_MAX_NAME_LENGTH} characters"
            )
    payload = _json_object(body)
    action = payload.get("action")
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    stored = deliveries.storable_headers(headers)
    return (
        NewDelivery(
            delivery_id=delivery_id,
            event=event,
            action=action[:_MAX_NAME_LENGTH] if isinstance(action, str) else None,
            repository=(full_name[:_MAX_REPOSITORY_LENGTH] if isinstance(full_name, str) else None),
            headers=stored,
            body=body.decode("utf-8"),
        ),
        payload,
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedDelivery(
            "The body is not JSON: set the webhook's content type to application/json "
            "on GitHub (form-encoded deliveries are not accepted)"
        ) from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("The body is JSON but not an object, which GitHub always sends")
    return payload


async def list_deliveries(
    uow: UnitOfWork,
    *,
    event: str | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page[DeliverySummary]:
    """Deliveries newest first (without headers and body), optionally of one event or status."""
    check_page_size(limit)
    query = deliveries.page_query(event=event, status=status, limit=limit, cursor=cursor)
    async with uow:
        rows = list(await uow.session.scalars(query))
        items = [deliveries.to_summary(row) for row in rows[:limit]]
        return Page(items=items, next_cursor=deliveries.next_cursor(rows, limit))


async def get_delivery(uow: UnitOfWork, key: str) -> WebhookDelivery:
    """One delivery by its id (``whd_…``) or by GitHub's delivery id."""
    async with uow:
        return deliveries.to_delivery(await deliveries.delivery_row(uow, key))


async def redeliver(uow: UnitOfWork, key: str, actor: Actor) -> QueuedDelivery:
    """Process a stored delivery again (after a failure, or once pipelines changed)."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        row = await deliveries.delivery_row(uow, key, for_update=True)
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


async def replay_file(uow: UnitOfWork, path: Path, event: str, actor: Actor) -> QueuedDelivery:
    """Store a payload from a file as a delivery of ``event`` and queue its processing.

    For trying pipelines locally: no signature is needed (the caller is already
    trusted); the delivery id is ``replay-<uuid>`` so it never collides with GitHub's.
    """
    auth.authorize(actor, Permission.WRITE)
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except OSError as error:
        raise ValidationFailed(f"Cannot read {path}: {error.strerror or error}") from None
    check_body_size(len(body))
    headers = {
        EVENT_HEADER.lower(): event,
        DELIVERY_HEADER.lower(): f"replay-{uuid.uuid4()}",
        "content-type": "application/json",
        "user-agent": "orchestrate-replay",
    }
    new, _ = _parse(headers, body)
    async with uow:
        [row_id] = await deliveries.insert_unless_known(uow, [new])
        if row_id is None:  # pragma: no cover - a fresh UUID
            raise Conflict(f"Delivery id {new.delivery_id} already exists")
        [job_id] = await processing.enqueue_processing(uow, [row_id])
        await auth.record_audit(
            uow, actor, "webhook.replay", row_id, {"event": event, "file": str(path)}
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
    routed = await processing.route_delivery(uow.sibling(read_only=True), settings, delivery)
    event = routing.event_from_delivery(delivery.event, delivery.payload)
    planned = [
        automations.describe(plan, settings)
        for plan in automations.plan_automations(event, settings)
    ]
    return Explanation(delivery, routed["pipelines"], routed["matched"], planned)
