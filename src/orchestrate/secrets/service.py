"""Use cases of the secret store: set, list, delete, rotate the key, and read values.

Values are encrypted before they reach the database (``crypto``) under keys kept
outside it (``keys``). Every mutation needs an admin, writes an audit record and an
event naming the secret (never its value) in the same transaction, and then reloads
this process's masker, so a value set here is hidden from the next log line on.
Other processes pick changes up through ``refresh_masker``, which ``serve`` and
``worker`` run every few seconds (``keep_masker_fresh``).

Other capabilities call ``get_secret_values`` (a pipeline's ``${{ secrets.NAME }}``),
``list_secret_names`` (validation at registration) and ``cached_secret_value`` (hot
paths such as the webhook receiver, which must not query the database per request).
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import NotFound
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets import _store as store
from orchestrate.secrets.keys import load_key_ring, require_key_ring
from orchestrate.secrets.loaded import (
    cached_secret_value,
    keep_masker_fresh,
    refresh_masker,
)
from orchestrate.secrets.models import (
    KeyRotation,
    SecretInfo,
    SecretWrite,
    check_value,
    normalise_name,
)
from orchestrate.secrets.rotation import rotate_key
from orchestrate.secrets.tables import SecretRow

__all__ = [
    "KeyRotation",
    "SecretInfo",
    "SecretWrite",
    "cached_secret_value",
    "delete_secret",
    "get_secret_values",
    "keep_masker_fresh",
    "list_secret_names",
    "list_secrets",
    "refresh_masker",
    "rotate_key",
    "set_secret",
]


async def set_secret(
    uow: UnitOfWork, settings: Settings, name: str, value: str, actor: Actor
) -> SecretWrite:
    """Create or replace the secret ``name`` (upper-cased) with ``value``."""
    auth.authorize(actor, Permission.ADMIN)
    name = normalise_name(name)
    check_value(value)
    ring = load_key_ring(settings, create=True)
    assert ring is not None
    key_id, ciphertext = ring.encrypt(name, value)
    async with uow:
        now = uow.now()
        row = await store.secret_row(uow, name, for_update=True)
        is_new = row is None
        if row is None:
            row = SecretRow(name=name, created_at=now)
            uow.session.add(row)
        row.ciphertext, row.key_id, row.updated_at = ciphertext, key_id, now
        action = "created" if is_new else "updated"
        await auth.record_audit(uow, actor, "secret.set", name, {"created": is_new})
        record_event(uow, f"secret.{action}", name, {"name": name})
        await uow.commit()
        info = _to_info(row)
    await refresh_masker(uow.sibling(read_only=True), settings)
    return SecretWrite(secret=info, is_new=is_new)


async def list_secrets(uow: UnitOfWork) -> list[SecretInfo]:
    """Every secret's name and dates, by name; values are never part of the answer."""
    async with uow:
        return [_to_info(row) for row in await store.all_rows(uow)]


async def delete_secret(uow: UnitOfWork, settings: Settings, name: str, actor: Actor) -> SecretInfo:
    """Remove the secret ``name``; ``NotFound`` when there is none."""
    auth.authorize(actor, Permission.ADMIN)
    name = normalise_name(name)
    async with uow:
        row = await store.secret_row(uow, name, for_update=True)
        if row is None:
            raise NotFound(f"No secret named {name!r}; see 'orchestrate secret list'", secret=name)
        info = _to_info(row)
        await store.delete_row(uow, name)
        await auth.record_audit(uow, actor, "secret.delete", name, {})
        record_event(uow, "secret.deleted", name, {"name": name})
        await uow.commit()
    await refresh_masker(uow.sibling(read_only=True), settings)
    return info


async def get_secret_values(
    uow: UnitOfWork, settings: Settings, names: Iterable[str]
) -> dict[str, str]:
    """The decrypted values of the named secrets that exist, by upper-case name.

    Names are matched as ``normalise_name`` spells them; a name that is not stored (or
    not a valid name at all) is simply absent from the result. A stored secret that no
    configured key opens raises ``UndecryptableSecret`` (a ``ConfigurationError``).
    """
    wanted = {name.strip().upper() for name in names}
    async with uow:
        rows = await store.rows_named(uow, wanted)
    if not rows:
        return {}
    ring = require_key_ring(settings)
    return {row.name: ring.decrypt(row.name, row.key_id, bytes(row.ciphertext)) for row in rows}


async def list_secret_names(uow: UnitOfWork) -> set[str]:
    """The names of every stored secret (upper-case)."""
    async with uow:
        return await store.names(uow)


def _to_info(row: SecretRow) -> SecretInfo:
    return SecretInfo(name=row.name, created_at=row.created_at, updated_at=row.updated_at)
