"""``rotate_key``: re-encrypt every secret under a new key, never losing one.

Two steps, in transactions that hold the store's key lock exclusively
(``_store.lock_keys``; every ``set_secret`` holds it shared from reading the keys to
committing its row):

1. read the keys; with the key file, write it as [new key, old keys…] (every row
   still opens with an old key); re-encrypt every row under the new key; commit.
2. re-read the keys and re-encrypt any row still not under the current one, until
   none is left; then, with the key file, write it as [current key, old keys some
   row still uses].

The lock makes the race with writers harmless: a writer that read the old keys
commits before step 1 reads the rows (and is re-encrypted with them); a writer that
comes later reads the new keys, and a writer whose keys lack the store's current key
(another machine with an old copy of the key file) is refused by ``set_secret``.
Step 2 is the net under that: a row still under an old key is re-encrypted, and the
key file keeps any key a row still uses. The old keys go only after step 1 has
committed, so a crash at any point leaves every secret readable.

With ``ORCHESTRATE_SECRET_KEY`` the user owns the keys: put the new key first
everywhere, rotate, then remove the keys reported retired (docs/secrets.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets import _store as store
from orchestrate.secrets.crypto import KeyRing, SecretKey
from orchestrate.secrets.events import SecretKeyRotated
from orchestrate.secrets.keys import load_key_ring, uses_key_file, write_key_file
from orchestrate.secrets.loaded import refresh_masker
from orchestrate.secrets.models import KeyRotation
from orchestrate.secrets.tables import SecretRow

log = structlog.get_logger(__name__)

_SWEEPS = 3


async def rotate_key(uow: UnitOfWork, settings: Settings, actor: Actor) -> KeyRotation:
    """Re-encrypt every secret under a new key (key file) or the first configured key."""
    auth.authorize(actor, Permission.ADMIN)
    key_id, count = await _re_encrypt_all(uow, settings, actor)
    retired = await _retire_unused_keys(uow.sibling(), settings)
    await refresh_masker(uow.sibling(read_only=True), settings)
    return KeyRotation(key_id=key_id, re_encrypted=count, retired_key_ids=retired)


async def _re_encrypt_all(uow: UnitOfWork, settings: Settings, actor: Actor) -> tuple[str, int]:
    async with uow:
        await store.lock_keys(uow, exclusive=True)
        ring = load_key_ring(settings, create=True)
        assert ring is not None
        if uses_key_file(settings):
            ring = KeyRing((SecretKey.generate(), *ring.keys), origin=ring.origin)
            write_key_file(settings, ring.keys)
        rows = await store.all_rows(uow, for_update=True)
        _re_encrypt(ring, rows)
        details = {"key_id": ring.current.id, "re_encrypted": len(rows)}
        await auth.record_audit(uow, actor, "secret.rotate_key", "secrets", details)
        rotated = SecretKeyRotated(
            subject="secrets", key_id=ring.current.id, re_encrypted=len(rows)
        )
        record_event(uow, rotated)
        await uow.commit()
        return ring.current.id, len(rows)


async def _retire_unused_keys(uow: UnitOfWork, settings: Settings) -> tuple[str, ...]:
    """Sweep rows still under an old key until none is left, then drop the unused keys.

    The key file is rewritten inside a locked transaction that changes no row, so no
    writer or other rotation runs in between, and no row it counted can roll back.
    After ``_SWEEPS`` sweeps that each found a row (a writer outside the lock keeps
    using an old key) every key is kept: losing none matters more than tidiness.
    """
    for _ in range(_SWEEPS):
        async with uow:
            await store.lock_keys(uow, exclusive=True)
            # Read again: another rotation may have run since ours committed.
            ring = load_key_ring(settings, create=True)
            assert ring is not None
            stragglers = await store.rows_not_under(uow, [ring.current.id], for_update=True)
            if not stragglers:
                in_use = await store.key_ids_in_use(uow)
                kept = tuple(key for key in ring.keys if key is ring.current or key.id in in_use)
                if uses_key_file(settings) and kept != ring.keys:
                    write_key_file(settings, kept)
                return tuple(key.id for key in ring.keys if key not in kept)
            log.warning("secret_rotation_swept", secrets=[row.name for row in stragglers])
            _re_encrypt(ring, stragglers)
            await uow.commit()
    return ()


def _re_encrypt(ring: KeyRing, rows: Sequence[SecretRow]) -> None:
    for row in rows:
        value = ring.decrypt(row.name, row.key_id, bytes(row.ciphertext))
        row.key_id, row.ciphertext = ring.encrypt(row.name, value)
