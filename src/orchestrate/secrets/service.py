"""Use cases of the secret store: set, list, delete, rotate the key, and read values.

Values are encrypted before they reach the database (``crypto``) under keys kept
outside it (``keys``). Every mutation needs an admin, writes an audit record and an
event naming the secret (never its value) in the same transaction, and then reloads
this process's masker, so a value set here is hidden from the next log line on.
A write reads the keys and commits under the store's key lock (``_store.lock_keys``),
so it cannot interleave with a rotation (``rotation``), and it refuses to write while
other secrets are under keys this process lacks (its keys are out of date).
Every process loads the store into its masker once its runtime is open
(``start_masking``); other processes pick changes up through ``refresh_masker``, which
``serve`` and ``worker`` run every few seconds (``keep_masker_fresh``).

Other capabilities call ``get_secret_values`` (a pipeline's ``${{ secrets.NAME }}``),
``list_secret_names`` (validation at registration) and ``cached_secret_value`` (hot
paths such as the webhook receiver, which must not query the database per request).
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import ConfigurationError, NotFound
from orchestrate.core.events import record_event
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets import _store as store
from orchestrate.secrets.crypto import KeyRing
from orchestrate.secrets.events import SecretCreated, SecretDeleted, SecretUpdated
from orchestrate.secrets.keys import KEY_ENV, KEY_FILE_NAME, load_key_ring, require_key_ring
from orchestrate.secrets.loaded import (
    READ_ATTEMPTS,
    cached_secret_value,
    keep_masker_fresh,
    refresh_masker,
    start_masking,
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
    "secrets_page",
    "set_secret",
    "start_masking",
]


async def set_secret(
    uow: UnitOfWork, settings: Settings, name: str, value: str, actor: Actor
) -> SecretWrite:
    """Create or replace the secret ``name`` (upper-cased) with ``value``."""
    auth.authorize(actor, Permission.ADMIN)
    name = normalise_name(name)
    check_value(value)
    async with uow:
        # Keys read under the key lock: a rotation cannot swap them and re-encrypt
        # the other rows between our reading them and our row being committed.
        await store.lock_keys(uow, exclusive=False)
        ring = load_key_ring(settings, create=True)
        assert ring is not None
        await _refuse_unknown_keys(uow, ring, name)
        key_id, ciphertext = ring.encrypt(name, value)
        now = uow.now()
        row = await store.secret_row(uow, name, for_update=True)
        is_new = row is None
        if row is None:
            row = SecretRow(name=name, created_at=now)
            store.add(uow, row)
        row.ciphertext, row.key_id, row.updated_at = ciphertext, key_id, now
        await auth.record_audit(uow, actor, "secret.set", name, {"created": is_new})
        written = SecretCreated if is_new else SecretUpdated
        record_event(uow, written(subject=name, name=name))
        await uow.commit()
        info = _to_info(row)
    await refresh_masker(uow.sibling(read_only=True), settings)
    return SecretWrite(secret=info, is_new=is_new)


async def list_secrets(uow: UnitOfWork) -> list[SecretInfo]:
    """Every secret's name and dates, by name; values are never part of the answer."""
    async with uow:
        return [_to_info(row) for row in await store.all_rows(uow)]


async def secrets_page(
    uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None
) -> Page[SecretInfo]:
    """One page of the secrets' names and dates, by name (``GET /api/secrets``)."""
    check_page_size(limit)
    async with uow:
        page = await store.rows_page(uow, limit, cursor)
        return Page([_to_info(row) for row in page.items], page.next_cursor)


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
        record_event(uow, SecretDeleted(subject=name, name=name))
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
    for _ in range(READ_ATTEMPTS):
        async with uow:
            rows = await store.rows_named(uow, wanted)
        if not rows:
            return {}
        ring = require_key_ring(settings)
        if all(ring.knows(row.key_id) for row in rows):
            break  # else a rotation retired the rows' key since we read them: read again
    return {row.name: ring.decrypt(row.name, row.key_id, bytes(row.ciphertext)) for row in rows}


async def list_secret_names(uow: UnitOfWork) -> set[str]:
    """The names of every stored secret (upper-case)."""
    async with uow:
        return await store.names(uow)


async def _refuse_unknown_keys(uow: UnitOfWork, ring: KeyRing, name: str) -> None:
    """Refuse to write while other secrets are under a key this process lacks.

    That is what a process with stale keys sees once another machine has rotated:
    writing with its old key would leave a secret the others cannot read. The secret
    being replaced does not count, so one secret whose key was lost can be set again.
    """
    unknown = await store.rows_not_under(uow, [key.id for key in ring.keys], besides=name)
    if not unknown:
        return
    names = ", ".join(row.name for row in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
    key_ids = sorted({row.key_id for row in unknown})
    raise ConfigurationError(
        f"Secret {name!r} was not set: secrets {names} are encrypted with key "
        f"{', '.join(key_ids)}, which {ring.origin} does not hold. If the key was rotated "
        f"on another machine, give this one the same keys (copy its {KEY_FILE_NAME}, or "
        f"the same {KEY_ENV}); if that key is lost, delete those secrets and set them again",
        secret=name,
        key_ids=key_ids,
    )


def _to_info(row: SecretRow) -> SecretInfo:
    return SecretInfo(name=row.name, created_at=row.created_at, updated_at=row.updated_at)
