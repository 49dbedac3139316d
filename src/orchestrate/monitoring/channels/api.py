"""HTTP routes of notification channels: any token reads them, admins change and test them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from orchestrate.core.pagination import DEFAULT_PAGE_SIZE
from orchestrate.monitoring.channels import service
from orchestrate.monitoring.channels.schemas import (
    ChannelAddedOut,
    ChannelIn,
    ChannelOut,
    LogEntryOut,
    TestSentOut,
)
from orchestrate.web.deps import ActorDep, AdminDep, RuntimeDep, UowDep
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get("/channels", response_model=PageOut[ChannelOut])
async def list_channels(
    uow: UowDep, _actor: ActorDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[ChannelOut]:
    """The notification channels, by name, with the names (never values) of their secrets."""
    page = await service.channels_page(uow, limit=limit, cursor=cursor)
    return PageOut(items=[ChannelOut.of(c) for c in page.items], next_cursor=page.next_cursor)


@router.post("/channels", response_model=ChannelAddedOut, status_code=status.HTTP_201_CREATED)
async def add_channel(
    body: ChannelIn, uow: UowDep, admin: AdminDep, runtime: RuntimeDep
) -> ChannelAddedOut:
    """Add a channel; 409 when the name is taken, 422 for options that do not fit its type
    or a secret it names that is not stored. A webhook added without ``signing_secret``
    gets a generated key, returned here once as ``signing_key``."""
    added = await service.add_channel(uow, runtime.settings, body.options().spec(), admin)
    out = ChannelOut.of(added.channel).model_dump()
    return ChannelAddedOut(**out, signing_key=added.generated_signing_key)


@router.delete("/channels/{name}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def remove_channel(name: str, uow: UowDep, admin: AdminDep, runtime: RuntimeDep) -> Response:
    """Remove a channel and the secrets stored for it; 404 when there is none."""
    await service.remove_channel(uow, runtime.settings, name, admin)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/channels/{name}/test", response_model=TestSentOut)
async def test_channel(name: str, uow: UowDep, admin: AdminDep, runtime: RuntimeDep) -> TestSentOut:
    """Send a test notification now; 502 with the receiver's reason when it fails."""
    sent = await service.send_test_notification(uow, runtime.settings, name, admin)
    return TestSentOut(
        channel=sent.channel, notification_id=sent.notification_id, ok=sent.ok, detail=sent.detail
    )


@router.get("/notifications", response_model=PageOut[LogEntryOut])
async def notification_log(
    uow: UowDep,
    _actor: ActorDep,
    channel: Annotated[str | None, Query(max_length=63)] = None,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[LogEntryOut]:
    """The notification log, newest first: every attempt at a send and every skip."""
    page = await service.notification_log(uow, channel=channel, limit=limit, cursor=cursor)
    return PageOut(items=[LogEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)
