"""HTTP routes of the auth capability: tokens (admins only) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, status

from orchestrate.auth import service
from orchestrate.auth.schemas import AuditRecordOut, TokenCreate, TokenCreated, TokenOut
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.core.runtime import Runtime
from orchestrate.web.deps import ActorDep, AdminDep, UowDep, install_authenticator
from orchestrate.web.schemas import PageCursor, PageLimit, PageOut

router = APIRouter(tags=["auth"])


def install(app: FastAPI, runtime: Runtime) -> None:
    """Make API tokens the app's credentials (the composition root calls this)."""
    del runtime  # the authenticator is handed the runtime with each request
    install_authenticator(app, authenticate_token)


async def authenticate_token(runtime: Runtime, secret: str, source: str) -> service.Actor:
    """The actor a bearer token stands for (``web.deps.Authenticator``)."""
    return await service.authenticate(runtime.uow(read_only=True), runtime.uow(), secret, source)


@router.get("/tokens", response_model=PageOut[TokenOut])
async def list_tokens(
    uow: UowDep,
    _admin: AdminDep,
    include_revoked: bool = False,
    limit: PageLimit = DEFAULT_PAGE_SIZE,
    cursor: PageCursor = None,
) -> PageOut[TokenOut]:
    """API tokens, newest first (their secrets are never shown again)."""
    page = await service.tokens_page(
        uow, include_revoked=include_revoked, limit=limit, cursor=cursor
    )
    return PageOut(items=[TokenOut.of(t) for t in page.items], next_cursor=page.next_cursor)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, uow: UowDep, admin: AdminDep) -> TokenCreated:
    """Issue a token; the response is the only place its secret appears."""
    return TokenCreated.of_issued(await service.create_token(uow, body.name, body.role, admin))


@router.delete("/tokens/{name}", response_model=TokenOut)
async def revoke_token(name: str, uow: UowDep, admin: AdminDep) -> TokenOut:
    """Revoke the active token with this name."""
    return TokenOut.of(await service.revoke_token(uow, name, admin))


@router.get("/audit", response_model=PageOut[AuditRecordOut])
async def list_audit(
    uow: UowDep,
    _actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> PageOut[AuditRecordOut]:
    """Audit records of every mutation, newest first."""
    page = await service.list_audit(
        uow, limit=limit, cursor=cursor, actor=actor, action=action, subject=subject
    )
    return PageOut(items=[AuditRecordOut.of(r) for r in page.items], next_cursor=page.next_cursor)
