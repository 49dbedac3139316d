"""Webhook deliveries: the list (by event, status and forge), one delivery with its
headers, payload and routing, and redelivering it.

A delivery's page answers "what did this webhook do, and why?": what processing
recorded when it ran (the pipelines it matched and why the others did not, the
automations, the runs, agents, stories and pull requests it started or moved), and what
routing it against the pipelines registered now would do (the service behind ``webhook
explain``; nothing is started to find out). Payloads are untrusted text shown escaped;
a large one is cut on the page, and its whole body is one click away as JSON.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Request
from starlette.responses import Response

from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.render import SECURITY_HEADERS, pretty_json, render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.forges import service as forges
from orchestrate.triggers import service as triggers
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
PAYLOAD_SHOWN = 64 * 1024
"""Characters of the pretty-printed payload shown on the page; the rest is a link away."""
PRETTY_UP_TO = 1024 * 1024
Filter = Annotated[str | None, Query(max_length=200)]
Cursor = Annotated[str | None, Query(max_length=500)]
DeliveryKey = Annotated[str, Path(max_length=200)]
_HEADERS_THAT_MATTER = ("x-github-", "x-gitlab-", "x-hub-", "user-agent", "content-type")
_KNOWN_EVENTS = (
    "push",
    "pull_request",
    "pull_request_review",
    "pull_request_review_comment",
    "issue_comment",
    "issues",
    "check_run",
    "check_suite",
    "workflow_run",
    "status",
    "merge_request",
    "note",
    "pipeline",
)
"""Suggestions for the event filter (any event name may be typed)."""


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/webhooks")
async def delivery_list(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    event: Filter = None,
    status: Filter = None,
    forge: Filter = None,
    cursor: Cursor = None,
) -> Response:
    page = await triggers.list_deliveries(
        _read(runtime),
        event=(event or "").strip() or None,
        status=_status(status),
        forge=forge or None,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return render(
        request,
        "webhooks/list.html",
        session,
        page=page,
        statuses=[s.value for s in triggers.DeliveryStatus],
        forges=list(forges.FORGES),
        events=_KNOWN_EVENTS,
    )


@router.get("/ui/webhooks/{key}")
async def delivery_detail(
    request: Request, runtime: RuntimeDep, session: SessionDep, key: DeliveryKey
) -> Response:
    delivery = await triggers.get_delivery(_read(runtime), key)
    try:
        explained: triggers.Explanation | None = await triggers.explain_delivery(
            _read(runtime), runtime.settings, delivery.id
        )
        unexplained = ""
    except (OrchestrateError, ValueError) as error:  # a body that no longer parses as an event
        explained, unexplained = None, str(error)
    payload = _pretty_payload(delivery)
    important = {k: v for k, v in delivery.headers.items() if _matters(k)}
    return render(
        request,
        "webhooks/detail.html",
        session,
        delivery=delivery,
        headers=sorted(important.items()),
        other_headers=sorted((k, v) for k, v in delivery.headers.items() if k not in important),
        payload=payload[:PAYLOAD_SHOWN],
        payload_cut=len(payload) > PAYLOAD_SHOWN,
        payload_size=len(delivery.body.encode()),
        recorded=_recorded(delivery.result),
        explained=explained,
        unexplained=unexplained,
    )


@router.get("/ui/webhooks/{key}/payload.json")
async def delivery_payload(runtime: RuntimeDep, session: SessionDep, key: DeliveryKey) -> Response:
    """The whole body, exactly as the forge sent it (and signed it)."""
    del session  # signed in is enough: any role reads deliveries
    delivery = await triggers.get_delivery(_read(runtime), key)
    return Response(
        delivery.body,
        media_type="application/json",
        headers={**SECURITY_HEADERS, "Content-Disposition": "inline"},
    )


@router.post("/ui/webhooks/{key}/redeliver")
async def redeliver(
    request: Request, runtime: RuntimeDep, actor: WriterDep, key: DeliveryKey
) -> Response:
    queued = await triggers.redeliver(runtime.uow(urgent=True), key, actor)
    return done(
        request,
        f"/ui/webhooks/{queued.delivery.id}",
        f"Delivery {queued.delivery.delivery_id} is queued to be processed again "
        f"(job {queued.job_id}).",
    )


def _status(value: str | None) -> triggers.DeliveryStatus | None:
    if not value:
        return None
    try:
        return triggers.DeliveryStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in triggers.DeliveryStatus)
        raise ValidationFailed(f"Unknown delivery status {value!r}; one of {allowed}") from None


def _matters(header: str) -> bool:
    name = header.lower()
    return name.startswith(_HEADERS_THAT_MATTER) or name == "idempotency-key"


def _pretty_payload(delivery: triggers.WebhookDelivery) -> str:
    """The payload indented for reading; past ``PRETTY_UP_TO`` the body as it came (it
    is cut on the page anyway, and parsing megabytes for that would slow the page)."""
    if len(delivery.body) > PRETTY_UP_TO:
        return delivery.body
    try:
        return pretty_json(delivery.payload)
    except ValueError:
        return delivery.body


def _recorded(result: dict[str, Any] | None) -> dict[str, list[Any]]:
    """What processing recorded, in the parts the page shows (absent parts are empty)."""
    result = result or {}
    return {
        part: list(result.get(part) or [])
        for part in ("pipelines", "matched", "runs", "automations", "shepherd")
    }
