"""Use cases of the auth capability: issue, list and revoke tokens; authenticate; dashboard
sessions; audit.

Other capabilities record their mutations with ``record_audit`` inside their own
unit of work, so an audit record exists exactly when the change was committed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrate.auth import _store as store
from orchestrate.auth.models import (
    Actor,
    ApiToken,
    AuditRecord,
    DashboardLogin,
    DashboardSession,
    IssuedToken,
    Permission,
    Role,
    csrf_token_for,
    display_prefix,
    generate_secret,
    hash_secret,
    validate_token_name,
)
from orchestrate.auth.tables import ApiTokenRow, AuditRecordRow, DashboardSessionRow
from orchestrate.core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    ValidationFailed,
)
from orchestrate.core.identity import authorize
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import IdCursor, Page, check_page_size
from orchestrate.core.uow import UnitOfWork

__all__ = [
    "Actor",
    "ApiToken",
    "AuditRecord",
    "DashboardLogin",
    "DashboardSession",
    "IssuedToken",
    "Permission",
    "Role",
    "authenticate",
    "authorize",
    "close_dashboard_session",
    "create_bootstrap_token",
    "create_token",
    "dashboard_session",
    "list_audit",
    "list_tokens",
    "open_dashboard_session",
    "record_audit",
    "revoke_token",
    "tokens_page",
]

BOOTSTRAP_TOKEN_NAME = "admin"  # noqa: S105 - a name, not a secret
# Recording every request's use would turn reads into writes; a minute's precision is plenty.
_LAST_USED_PRECISION = timedelta(minutes=1)


async def create_token(uow: UnitOfWork, name: str, role: Role, actor: Actor) -> IssuedToken:
    """Issue a token; its secret is returned once and only its hash is stored."""
    authorize(actor, Permission.ADMIN)
    problem = validate_token_name(name)
    if problem:
        raise ValidationFailed(f"Invalid token name {name!r}: {problem}", field="name")
    async with uow:
        if await store.active_token_named(uow, name) is not None:
            raise Conflict(
                f"A token named {name!r} already exists; revoke it first or choose another name",
                name=name,
            )
        issued = _issue(uow, name, role, created_by=actor.name)
        details = {"name": name, "role": role.value}
        await record_audit(uow, actor, "token.create", issued.token.id, details)
        await uow.commit()
        return issued


async def create_bootstrap_token(uow: UnitOfWork) -> IssuedToken | None:
    """On a first start with no usable token, issue an admin token; otherwise do nothing."""
    actor = Actor.system("bootstrap")
    async with uow:
        if await store.any_active_token(uow):
            return None
        issued = _issue(uow, BOOTSTRAP_TOKEN_NAME, Role.ADMIN, created_by=actor.name)
        await record_audit(
            uow, actor, "token.create", issued.token.id, {"name": BOOTSTRAP_TOKEN_NAME}
        )
        await uow.commit()
        return issued


async def list_tokens(uow: UnitOfWork, *, include_revoked: bool = False) -> list[ApiToken]:
    async with uow:
        rows = await store.tokens(uow, include_revoked=include_revoked)
        return [_to_token(row) for row in rows]


async def tokens_page(
    uow: UnitOfWork, *, include_revoked: bool = False, limit: int = 50, cursor: str | None = None
) -> Page[ApiToken]:
    """One page of the tokens, newest first (``GET /api/tokens``)."""
    check_page_size(limit)
    async with uow:
        rows, next_cursor = await store.tokens_page(
            uow, include_revoked=include_revoked, limit=limit, cursor=cursor
        )
        return Page([_to_token(row) for row in rows], next_cursor)


async def revoke_token(uow: UnitOfWork, name: str, actor: Actor) -> ApiToken:
    """Revoke the active token called ``name``; requests using it fail from now on."""
    authorize(actor, Permission.ADMIN)
    async with uow:
        row = await store.active_token_named(uow, name)
        if row is None:
            raise NotFound(
                f"No active token named {name!r}; see 'orchestrate token list'", name=name
            )
        row.revoked_at = uow.now()
        await store.end_sessions_of_token(uow, row.id, row.revoked_at)
        await record_audit(uow, actor, "token.revoke", row.id, {"name": name})
        await uow.commit()
        return _to_token(row)


async def authenticate(
    read_uow: UnitOfWork, write_uow: UnitOfWork, secret: str, source: str
) -> Actor:
    """The actor a bearer token stands for; unknown or revoked tokens are refused.

    The lookup runs in a read-only transaction; ``write_uow`` is only opened (at most
    once a minute per token) to record when the token was last used.
    """
    token_hash = hash_secret(secret)
    async with read_uow:
        row = await store.token_with_hash(read_uow, token_hash)
    if row is None or row.revoked_at is not None:
        raise AuthenticationFailed("Invalid or revoked API token")
    now = read_uow.now()
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_PRECISION:
        async with write_uow:
            await store.mark_used(write_uow, row.id, now)
            await write_uow.commit()
    return Actor(name=f"token:{row.name}", role=Role(row.role), source=source)


async def open_dashboard_session(
    uow: UnitOfWork, token_secret: str, source: str, lifetime: timedelta
) -> DashboardLogin:
    """Sign a browser in with an API token: a session acting as that token's actor.

    The token itself never reaches the browser's storage; the cookie carries a new
    random secret, stored hashed like tokens. The session slides: each use within
    ``lifetime`` extends it by ``lifetime``.
    """
    async with uow:
        row = await store.token_with_hash(uow, hash_secret(token_secret.strip()))
        if row is None or row.revoked_at is not None:
            raise AuthenticationFailed("Invalid or revoked API token")
        now = uow.now()
        await store.delete_expired_sessions(uow, now)
        secret = generate_secret()
        session = DashboardSessionRow(
            id=new_id("ses", now),
            secret_hash=hash_secret(secret),
            token_id=row.id,
            source=source[:200],
            created_at=now,
            expires_at=now + lifetime,
            last_seen_at=now,
        )
        store.add_session(uow, session)
        actor = Actor(name=f"token:{row.name}", role=Role(row.role), source=source)
        await record_audit(uow, actor, "dashboard.login", session.id)
        await uow.commit()
    return DashboardLogin(
        session=DashboardSession(
            id=session.id,
            actor=actor,
            csrf_token=csrf_token_for(secret),
            expires_at=session.expires_at,
        ),
        secret=secret,
    )


async def dashboard_session(
    read_uow: UnitOfWork, write_uow: UnitOfWork, secret: str, source: str, lifetime: timedelta
) -> DashboardSession:
    """The session a cookie stands for; expired, ended or revoked-token sessions are refused.

    Like ``authenticate``, the write (sliding the expiry) happens at most once a minute.
    """
    async with read_uow:
        found = await store.session_with_hash(read_uow, hash_secret(secret))
    now = read_uow.now()
    if found is None:
        raise AuthenticationFailed("Not signed in")
    session, token = found
    if session.revoked_at is not None or token.revoked_at is not None:
        raise AuthenticationFailed("This session has ended; sign in again")
    if session.expires_at <= now:
        raise AuthenticationFailed("This session has expired; sign in again")
    expires_at = session.expires_at
    if now - session.last_seen_at > _LAST_USED_PRECISION:
        expires_at = now + lifetime
        async with write_uow:
            await store.touch_session(write_uow, session.id, now, expires_at)
            await write_uow.commit()
    return DashboardSession(
        id=session.id,
        actor=Actor(name=f"token:{token.name}", role=Role(token.role), source=source),
        csrf_token=csrf_token_for(secret),
        expires_at=expires_at,
    )


async def close_dashboard_session(uow: UnitOfWork, secret: str, actor: Actor) -> None:
    """Sign out: the cookie's session ends here, whatever the browser keeps."""
    async with uow:
        if await store.end_session(uow, hash_secret(secret), uow.now()):
            await record_audit(uow, actor, "dashboard.logout", "dashboard")
        await uow.commit()


async def record_audit(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    subject: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Add an audit record to the caller's open transaction."""
    store.add_audit(
        uow,
        AuditRecordRow(
            actor=actor.name,
            action=action,
            subject=subject,
            source=actor.source,
            details=details or {},
            created_at=uow.now(),
        ),
    )


async def list_audit(
    uow: UnitOfWork,
    *,
    limit: int = 50,
    cursor: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    subject: str | None = None,
) -> Page[AuditRecord]:
    """Audit records, newest first, optionally filtered."""
    check_page_size(limit)
    before_id = IdCursor.decode(cursor).id if cursor else None
    async with uow:
        rows = await store.audit_page(
            uow, limit=limit, before_id=before_id, actor=actor, action=action, subject=subject
        )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = IdCursor(rows[-1].id).encode() if more and rows else None
    return Page(items=[_to_audit(row) for row in rows], next_cursor=next_cursor)


def _issue(uow: UnitOfWork, name: str, role: Role, created_by: str) -> IssuedToken:
    secret = generate_secret()
    now = uow.now()
    row = ApiTokenRow(
        id=new_id("tok", now),
        name=name,
        role=role.value,
        token_hash=hash_secret(secret),
        token_prefix=display_prefix(secret),
        created_by=created_by,
        created_at=now,
    )
    store.add_token(uow, row)
    return IssuedToken(token=_to_token(row), secret=secret)


def _to_token(row: ApiTokenRow) -> ApiToken:
    return ApiToken(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        token_prefix=row.token_prefix,
        created_by=row.created_by,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def _to_audit(row: AuditRecordRow) -> AuditRecord:
    return AuditRecord(
        id=row.id,
        actor=row.actor,
        action=row.action,
        subject=row.subject,
        source=row.source,
        created_at=row.created_at,
        details=dict(row.details),
    )
