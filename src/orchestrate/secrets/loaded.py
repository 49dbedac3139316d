"""The secret values this process has loaded: for the masker and for hot paths.

``refresh_masker`` reads every row in one query and decrypts only when the rows
changed (a digest of the ciphertexts: each write draws a fresh nonce, so any change
shows), then hands the values to ``core.masking.process_masker()``. ``serve`` and
``worker`` call it every few seconds through ``keep_masker_fresh``, so a secret set
from the CLI in another process is masked by a running worker within seconds.

The same values answer ``cached_secret_value`` without a query, and the language-model
provider keys among them are handed to ``llm.service`` (which may not import this
capability) as the fallback for keys missing from the environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.masking import process_masker
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.llm import service as llm
from orchestrate.secrets import _store as store
from orchestrate.secrets.crypto import KeyRing, UndecryptableSecret
from orchestrate.secrets.keys import load_key_ring
from orchestrate.secrets.tables import SecretRow

log = structlog.get_logger(__name__)

REFRESH_SECONDS = 3.0
"""How often a long-running process re-reads the store (one small query)."""
READ_ATTEMPTS = 3
"""Reads of the rows and keys: a rotation may re-encrypt the rows and retire their old
key between reading one and the other, and reading again then finds the new rows."""


@dataclass
class _Loaded:
    source: str = ""
    digest: str = ""
    values: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_LOADED = _Loaded()


def cached_secret_value(name: str) -> str | None:
    """The value of secret ``name`` as last loaded by ``refresh_masker`` (no query).

    For paths that cannot afford a query per call; fresh within ``REFRESH_SECONDS`` in
    ``serve`` and ``worker``, and at once after a change made in this process.
    """
    return _LOADED.values.get(name.strip().upper())


async def refresh_masker(uow: UnitOfWork, settings: Settings) -> None:
    """Load every secret value into the process masker; cheap when nothing changed.

    A secret no configured key opens is skipped with a warning: it cannot be used
    either, and one lost key must not stop every command.
    """
    source = f"{uow.database.engine.url}|{settings.home}"
    for _ in range(READ_ATTEMPTS):
        async with uow:
            rows = await store.all_rows(uow)
        digest = _digest(rows)
        if source == _LOADED.source and digest == _LOADED.digest:
            return
        ring = load_key_ring(settings, create=False) if rows else None
        if ring is None or all(ring.knows(row.key_id) for row in rows):
            break  # else a rotation retired the rows' key since we read them: read again
    values = _decrypt_all(rows, ring)
    with _LOADED.lock:
        process_masker().replace_all(values.values())
        _LOADED.source, _LOADED.digest, _LOADED.values = source, digest, values
    llm.use_stored_credentials(
        {name: values[name] for name in llm.CREDENTIAL_NAMES if name in values}
    )


async def start_masking(runtime: Runtime) -> None:
    """Load the store into this process's masker before it does any work.

    Every process runs this once its runtime is open (``serve``, ``worker``, each CLI
    command: the composition root wires it), so inline work is masked too.
    """
    try:
        await refresh_masker(runtime.uow(read_only=True), runtime.settings)
    except ConfigurationError as error:
        raise ConfigurationError(
            f"stored secrets cannot be read: {error}", **error.context
        ) from error


async def keep_masker_fresh(
    runtime: Runtime, stop: asyncio.Event, every: float = REFRESH_SECONDS
) -> None:
    """Run ``refresh_masker`` until ``stop`` is set (a task of ``serve`` and ``worker``)."""
    while not stop.is_set():
        try:
            await refresh_masker(runtime.uow(read_only=True), runtime.settings)
        except Exception:
            log.exception("secret_refresh_failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def forget_loaded() -> None:
    """Drop every loaded value (tests, and a process switching databases)."""
    with _LOADED.lock:
        process_masker().replace_all([])
        _LOADED.source, _LOADED.digest, _LOADED.values = "", "", {}
    llm.use_stored_credentials({})


def _digest(rows: Sequence[SecretRow]) -> str:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(f"{row.name}\0{row.key_id}\0".encode() + bytes(row.ciphertext) + b"\0")
    return digest.hexdigest()


def _decrypt_all(rows: Sequence[SecretRow], ring: KeyRing | None) -> dict[str, str]:
    if not rows:
        return {}
    if ring is None:
        log.warning("secret_key_file_missing", secrets=len(rows))
        return {}
    values: dict[str, str] = {}
    for row in rows:
        try:
            values[row.name] = ring.decrypt(row.name, row.key_id, bytes(row.ciphertext))
        except UndecryptableSecret:
            log.warning("secret_undecryptable", secret=row.name, key_id=row.key_id)
    return values
