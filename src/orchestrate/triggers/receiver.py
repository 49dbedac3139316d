"""``POST /webhooks/github`` and ``POST /webhooks/gitlab``: where the forges deliver events.

Mounted outside ``/api`` and without bearer authentication: GitHub proves who it is
with the ``X-Hub-Signature-256`` signature instead, GitLab with the ``X-Gitlab-Token``
secret token, both checked by the service. The body
is read as raw bytes (the signature covers them exactly) and refused with 413 as soon
as it is known to be too large, from ``Content-Length`` or while it streams in.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import JSONResponse

from orchestrate.core.errors import OrchestrateError
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.triggers import service
from orchestrate.triggers.inbox import DeliveryInbox
from orchestrate.triggers.schemas import PongOut, ReceivedOut
from orchestrate.web.errors import ProblemResponse, problem

router = APIRouter(tags=["webhooks"])


def install(app: FastAPI, runtime: Runtime) -> None:
    """Give the app its one delivery inbox (the composition root calls this).

    One per app, so concurrent deliveries share transactions (``inbox.py``); urgent,
    because GitHub waits on each of them. Its units of work come from the app's runtime
    (``app.state.runtime``), the one every other route uses.
    """
    del runtime  # read from the app at each delivery, like every route does

    def app_uow() -> UnitOfWork:
        app_runtime: Runtime = app.state.runtime
        return app_runtime.uow(urgent=True)

    app.state.delivery_inbox = DeliveryInbox(app_uow)


_PROBLEM: dict[str, Any] = {"content": {"application/problem+json": {}}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": PongOut, "description": "A `ping`: its zen, echoed; nothing is stored."},
    400: {**_PROBLEM, "description": "A GitHub header is missing or the body is not JSON."},
    401: {**_PROBLEM, "description": "Unsigned, wrongly signed, or no secret configured."},
    413: {**_PROBLEM, "description": "The body is over `webhook_max_body_bytes` (25 MiB)."},
}
# The receiver's own statuses; other errors go through the app's handlers.
_STATUS_BY_REFUSAL: tuple[tuple[type[OrchestrateError], int], ...] = (
    (service.MalformedDelivery, status.HTTP_400_BAD_REQUEST),
    (service.SignatureRejected, status.HTTP_401_UNAUTHORIZED),
    (service.DeliveryTooLarge, status.HTTP_413_CONTENT_TOO_LARGE),
)


@router.post(
    "/webhooks/github",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReceivedOut,
    responses=_RESPONSES,
)
async def receive_github(request: Request) -> JSONResponse:
    """Store a signed delivery and queue its processing; answers at once.

    A delivery id already stored is answered `duplicate` and not processed again.
    """
    result = await _receive(request, service.receive_delivery)
    if isinstance(result, JSONResponse):
        return result
    if result.outcome is service.ReceiveOutcome.PONG:
        return JSONResponse(PongOut(zen=result.zen).model_dump(), status_code=status.HTTP_200_OK)
    return JSONResponse(
        ReceivedOut.of(result).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
    )


_GITLAB_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_PROBLEM, "description": "X-Gitlab-Event is missing or the body is not JSON."},
    401: {**_PROBLEM, "description": "No X-Gitlab-Token, a wrong one, or no secret configured."},
    413: {**_PROBLEM, "description": "The body is over `webhook_max_body_bytes` (25 MiB)."},
}


@router.post(
    "/webhooks/gitlab",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReceivedOut,
    responses=_GITLAB_RESPONSES,
)
async def receive_gitlab(request: Request) -> JSONResponse:
    """Store a GitLab delivery with a valid token and queue its processing; answers at once.

    A delivery id already stored is answered `duplicate` and not processed again.
    """
    result = await _receive(request, service.receive_gitlab_delivery)
    if isinstance(result, JSONResponse):
        return result
    return JSONResponse(
        ReceivedOut.of(result).model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED
    )


Receive = Callable[
    [DeliveryInbox, Settings, Mapping[str, str], bytes], Awaitable[service.ReceiveResult]
]


async def _receive(request: Request, receive: Receive) -> service.ReceiveResult | JSONResponse:
    """Read the body within the limit and hand it to the forge's ``receive``; a refusal
    (malformed, unauthenticated, too large) comes back as its problem response.

    The runtime is read from the app directly rather than through a dependency: a forge
    may send bursts, and resolving dependencies is a fixed cost per request.
    """
    runtime: Runtime = request.app.state.runtime
    try:
        body = await _read_body(request, runtime.settings.webhook_max_body_bytes)
        return await receive(
            request.app.state.delivery_inbox, runtime.settings, request.headers, body
        )
    except (
        service.MalformedDelivery,
        service.SignatureRejected,
        service.DeliveryTooLarge,
    ) as error:
        return _refusal(request, error)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit():
        service.check_body_size(int(declared), limit)
    # Content-Length may be absent (chunked) or lie: count what actually arrives.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        service.check_body_size(len(body), limit)
    return bytes(body)


def _refusal(request: Request, error: OrchestrateError) -> ProblemResponse:
    code = next(code for kind, code in _STATUS_BY_REFUSAL if isinstance(error, kind))
    slug = "".join(f"-{c.lower()}" if c.isupper() else c for c in type(error).__name__)
    return problem(
        code,
        error.title,
        error.message,
        type_=f"urn:orchestrate:problem:{slug.lstrip('-')}",
        instance=request.url.path,
        **dict(error.context),
    )
