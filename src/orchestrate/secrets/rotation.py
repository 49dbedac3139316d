"""``rotate_key``: re-encrypt every secret under a new key, never losing one.

With the key file, the order makes every moment of a crash safe:

1. write the file as [new key, old keys…]   (every row still opens with an old key)
2. re-encrypt every row under the new key in one transaction
3. write the file as [new key, old keys some row still uses]

A secret set by another process during step 2 with an old key keeps that key in the
file (step 3 drops only keys no row uses). With ``ORCHESTRATE_SECRET_KEY`` the user
owns the keys: put the new key first, rotate, then remove the keys reported retired.
"""

from __future__ import annotations

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.secrets import _store as store
from orchestrate.secrets.crypto import KeyRing, SecretKey
from orchestrate.secrets.keys import load_key_ring, uses_key_file, write_key_file
from orchestrate.secrets.loaded import refresh_masker
from orchestrate.secrets.models import KeyRotation


async def rotate_key(uow: UnitOfWork, settings: Settings, actor: Actor) -> KeyRotation:
    """Re-encrypt every secret under a new key (key file) or the first configured key."""
    auth.authorize(actor, Permission.ADMIN)
    ring = load_key_ring(settings, create=True)
    assert ring is not None
    if uses_key_file(settings):
        ring = KeyRing((SecretKey.generate(), *ring.keys), origin=ring.origin)
        write_key_file(settings, ring.keys)
    count = await _re_encrypt_all(uow, ring, actor)
    async with uow.sibling(read_only=True) as reader:
        in_use = await store.key_ids_in_use(reader)
    kept = tuple(key for key in ring.keys if key is ring.current or key.id in in_use)
    if uses_key_file(settings):
        write_key_file(settings, kept)
    await refresh_masker(uow.sibling(read_only=True), settings)
    retired = tuple(key.id for key in ring.keys if key not in kept)
    return KeyRotation(key_id=ring.current.id, re_encrypted=count, retired_key_ids=retired)


async def _re_encrypt_all(uow: UnitOfWork, ring: KeyRing, actor: Actor) -> int:
    async with uow:
        rows = await store.all_rows(uow, for_update=True)
        for row in rows:
            value = ring.decrypt(row.name, row.key_id, bytes(row.ciphertext))
            row.key_id, row.ciphertext = ring.encrypt(row.name, value)
        details = {"key_id": ring.current.id, "re_encrypted": len(rows)}
        await auth.record_audit(uow, actor, "secret.rotate_key", "secrets", details)
        record_event(uow, "secret.key_rotated", "secrets", details)
        await uow.commit()
        return len(rows)
