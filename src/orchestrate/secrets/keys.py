"""Where the keys of the secret store come from: ``ORCHESTRATE_SECRET_KEY`` or a key file.

The key is never in the database, so a copy of the database (a backup, a dump handed
to support) reveals no secret. Without ``ORCHESTRATE_SECRET_KEY`` the keys live in
``<home>/secret.key``, created with mode 0600 the first time a key is needed: one
base64 key per line, newest first. The file only ever appears whole: it is written
under a temporary name and then linked (created) or moved (rewritten) into place, so
a reader never sees half a file, two processes creating it at once end up with one
key, and a crash in the middle of a rotation leaves either the old file or the new
one, either of which still opens every stored secret. Who may rewrite it when is
``rotation``'s business (under the store's key lock).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.secrets.crypto import KeyRing, SecretKey

KEY_FILE_NAME = "secret.key"
KEY_ENV = "ORCHESTRATE_SECRET_KEY"
_HEADER = (
    "# Orchestrate secret store keys, newest first. Losing this file loses every secret;\n"
    "# back it up apart from the database. Never share it.\n"
)


def key_file(settings: Settings) -> Path:
    return settings.home / KEY_FILE_NAME


def uses_key_file(settings: Settings) -> bool:
    return settings.secret_key is None


def load_key_ring(settings: Settings, *, create: bool) -> KeyRing | None:
    """The configured keys; ``None`` when there is no key file yet and ``create`` is false.

    Read anew on every call (a small file), so a process sees a rotation made by another.
    """
    if settings.secret_key is not None:
        texts = [t for t in settings.secret_key.get_secret_value().split(",") if t.strip()]
        if not texts:
            raise ConfigurationError(f"{KEY_ENV} is set but holds no key", setting=KEY_ENV)
        keys = tuple(SecretKey.parse(text, origin=KEY_ENV) for text in texts)
        return KeyRing(keys, origin=KEY_ENV)
    path = key_file(settings)
    if not path.exists():
        if not create:
            return None
        _create_key_file(path, SecretKey.generate())
    return KeyRing(_read_key_file(path), origin=str(path))


def require_key_ring(settings: Settings) -> KeyRing:
    """The configured keys, for reading stored secrets; a missing key file is an error."""
    ring = load_key_ring(settings, create=False)
    if ring is None:
        raise ConfigurationError(
            f"Secrets are stored but the key file {key_file(settings)} is missing; restore "
            f"it from a backup or set {KEY_ENV}",
            path=str(key_file(settings)),
        )
    return ring


def write_key_file(settings: Settings, keys: Sequence[SecretKey]) -> None:
    """Replace the key file's keys with ``keys`` (newest first), atomically, mode 0600."""
    path = key_file(settings)
    temporary = _temporary_name(path)
    _write_new(temporary, keys)
    os.replace(temporary, path)


def _create_key_file(path: Path, key: SecretKey) -> None:
    """Create the key file holding ``key``, unless another process just created it.

    Linking a complete temporary file into place is atomic and, unlike a rename,
    refuses to replace an existing file: the first process wins, the others read its
    key, and nobody ever reads a file that is still being written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary_name(path)
    _write_new(temporary, [key])
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _temporary_name(path: Path) -> Path:
    """A name next to ``path`` that no other process or thread uses at the same time."""
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(8).hex()}.tmp")


def _write_new(path: Path, keys: Sequence[SecretKey]) -> None:
    """Create ``path`` (it must not exist) readable by its owner only, and fill it."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as file:
        file.write(_HEADER + "".join(f"{key.encoded()}\n" for key in keys))
        file.flush()
        os.fsync(file.fileno())


def _read_key_file(path: Path) -> tuple[SecretKey, ...]:
    lines = path.read_text(encoding="ascii").splitlines()
    texts = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    if not texts:
        raise ConfigurationError(
            f"The secret key file {path} holds no key; restore it from a backup "
            f"(deleting it makes every stored secret unreadable)",
            path=str(path),
        )
    return tuple(SecretKey.parse(text, origin=str(path)) for text in texts)
