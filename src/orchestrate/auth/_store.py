"""The auth capability's SQL: tokens by name or hash, dashboard sessions, the audit log.

Every function runs inside the caller's unit of work; ``service.py`` decides, this
module reads and writes the rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, or_, select, update

from orchestrate.auth.tables import ApiTokenRow, AuditRecordRow, DashboardSessionRow
from orchestrate.core.pagination import newest_first, page_of
from orchestrate.core.retention.sql import delete_where
from orchestrate.core.uow import UnitOfWork


async def any_active_token(uow: UnitOfWork) -> bool:
    """Whether at least one token is not revoked."""
    found = await uow.session.scalar(
        select(ApiTokenRow.id).where(ApiTokenRow.revoked_at.is_(None)).limit(1)
    )
    return found is not None


async def tokens(uow: UnitOfWork, *, include_revoked: bool) -> list[ApiTokenRow]:
    """Tokens newest first, the revoked ones only when asked."""
    query = select(ApiTokenRow).order_by(ApiTokenRow.created_at.desc(), ApiTokenRow.id.desc())
    if not include_revoked:
        query = query.where(ApiTokenRow.revoked_at.is_(None))
    return list(await uow.session.scalars(query))


async def tokens_page(
    uow: UnitOfWork, *, include_revoked: bool, limit: int, cursor: str | None
) -> tuple[list[ApiTokenRow], str | None]:
    """One page of the tokens, newest first, and the cursor of the next."""
    query = newest_first(select(ApiTokenRow), ApiTokenRow, limit, cursor)
    if not include_revoked:
        query = query.where(ApiTokenRow.revoked_at.is_(None))
    return page_of(list(await uow.session.scalars(query)), limit)


async def active_token_named(uow: UnitOfWork, name: str) -> ApiTokenRow | None:
    return await uow.session.scalar(
        select(ApiTokenRow).where(ApiTokenRow.name == name, ApiTokenRow.revoked_at.is_(None))
    )


async def token_with_hash(uow: UnitOfWork, token_hash: str) -> ApiTokenRow | None:
    """The token, revoked or not, whose secret hashes to ``token_hash``."""
    return await uow.session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_hash == token_hash))


async def mark_used(uow: UnitOfWork, token_id: str, at: datetime) -> None:
    """Record when a token was last used, without loading it into this transaction."""
    await uow.session.execute(
        update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=at)
    )


def add_token(uow: UnitOfWork, row: ApiTokenRow) -> None:
    uow.session.add(row)


def add_session(uow: UnitOfWork, row: DashboardSessionRow) -> None:
    uow.session.add(row)


async def session_with_hash(
    uow: UnitOfWork, secret_hash: str
) -> tuple[DashboardSessionRow, ApiTokenRow] | None:
    """The session whose cookie secret hashes to ``secret_hash``, with its token."""
    found = (
        await uow.session.execute(
            select(DashboardSessionRow, ApiTokenRow)
            .join(ApiTokenRow, ApiTokenRow.id == DashboardSessionRow.token_id)
            .where(DashboardSessionRow.secret_hash == secret_hash)
        )
    ).first()
    return None if found is None else (found[0], found[1])


async def touch_session(uow: UnitOfWork, session_id: str, at: datetime, expires: datetime) -> None:
    """Record the session's last use and slide its expiry forward."""
    await uow.session.execute(
        update(DashboardSessionRow)
        .where(DashboardSessionRow.id == session_id)
        .values(last_seen_at=at, expires_at=expires)
    )


async def end_session(uow: UnitOfWork, secret_hash: str, at: datetime) -> bool:
    """Mark the session with this secret revoked; whether there was one still open."""
    result = await uow.session.execute(
        update(DashboardSessionRow)
        .where(
            DashboardSessionRow.secret_hash == secret_hash,
            DashboardSessionRow.revoked_at.is_(None),
        )
        .values(revoked_at=at)
    )
    return bool(getattr(result, "rowcount", 0))


async def end_sessions_of_token(uow: UnitOfWork, token_id: str, at: datetime) -> None:
    await uow.session.execute(
        update(DashboardSessionRow)
        .where(DashboardSessionRow.token_id == token_id, DashboardSessionRow.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def delete_expired_sessions(uow: UnitOfWork, before: datetime) -> None:
    """Forget sessions that expired before ``before``: a login keeps the table small."""
    await uow.session.execute(
        delete(DashboardSessionRow).where(DashboardSessionRow.expires_at < before)
    )


def add_audit(uow: UnitOfWork, row: AuditRecordRow) -> None:
    uow.session.add(row)


async def audit_page(
    uow: UnitOfWork,
    *,
    limit: int,
    before_id: int | None,
    actor: str | None,
    action: str | None,
    subject: str | None,
) -> list[AuditRecordRow]:
    """Up to ``limit + 1`` audit records newest first, older than ``before_id``, filtered."""
    query = select(AuditRecordRow).order_by(AuditRecordRow.id.desc()).limit(limit + 1)
    if before_id is not None:
        query = query.where(AuditRecordRow.id < before_id)
    if actor:
        query = query.where(AuditRecordRow.actor == actor)
    if action:
        query = query.where(AuditRecordRow.action == action)
    if subject:
        query = query.where(AuditRecordRow.subject == subject)
    return list(await uow.session.scalars(query))


def _ended_before(cutoff: datetime) -> ColumnElement[bool]:
    return or_(
        DashboardSessionRow.expires_at < cutoff,
        func.coalesce(DashboardSessionRow.revoked_at, DashboardSessionRow.expires_at) < cutoff,
    )


async def ended_session_ids(
    uow: UnitOfWork, cutoff: datetime, *, after: str | None, limit: int
) -> list[str]:
    """Ids, ascending, of sessions that expired or were ended before ``cutoff``."""
    query = (
        select(DashboardSessionRow.id)
        .where(_ended_before(cutoff))
        .order_by(DashboardSessionRow.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(DashboardSessionRow.id > after)
    return [str(key) for key in await uow.session.scalars(query)]


async def delete_ended_sessions(uow: UnitOfWork, ids: Sequence[str], cutoff: datetime) -> int:
    """Delete those of ``ids`` still ended before ``cutoff``; how many went."""
    return await delete_where(
        uow, DashboardSessionRow, [DashboardSessionRow.id.in_(list(ids)), _ended_before(cutoff)]
    )
