"""AES-256-GCM encryption of secret values under a ring of keys, newest first.

Each value is encrypted with a fresh 96-bit nonce and the secret's name as associated
data, so a ciphertext copied onto another name's row fails to decrypt instead of
handing out the wrong secret. A key's id is derived from the key itself: the same key
given through the environment on two machines has the same id, and a row says which
key encrypted it without the database holding anything about the key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from orchestrate.core.errors import ConfigurationError

KEY_BYTES = 32
_NONCE_BYTES = 12
_AAD_PREFIX = b"orchestrate-secret:"


class UndecryptableSecret(ConfigurationError):
    """A stored secret cannot be decrypted with any configured key."""


@dataclass(frozen=True)
class SecretKey:
    id: str
    material: bytes = field(repr=False)  # never in a traceback or a log line

    @classmethod
    def generate(cls) -> SecretKey:
        return cls.of(AESGCM.generate_key(bit_length=KEY_BYTES * 8))

    @classmethod
    def of(cls, material: bytes) -> SecretKey:
        digest = hashlib.sha256(b"orchestrate-secret-key-id:" + material).hexdigest()
        return cls(id=digest[:16], material=material)

    @classmethod
    def parse(cls, text: str, *, origin: str) -> SecretKey:
        """A key from its base64 text (standard or URL-safe alphabet, 32 bytes)."""
        cleaned = text.strip().replace("-", "+").replace("_", "/")
        try:
            material = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
        except (binascii.Error, ValueError):
            material = b""
        if len(material) != KEY_BYTES:
            raise ConfigurationError(
                f"A secret key in {origin} is not {KEY_BYTES} bytes of base64; make one "
                f"with 'openssl rand -base64 {KEY_BYTES}'",
                origin=origin,
            )
        return cls.of(material)

    def encoded(self) -> str:
        return base64.urlsafe_b64encode(self.material).decode()


@dataclass(frozen=True)
class KeyRing:
    """The keys able to decrypt the store; the first encrypts everything new."""

    keys: tuple[SecretKey, ...]
    origin: str

    @property
    def current(self) -> SecretKey:
        return self.keys[0]

    def knows(self, key_id: str) -> bool:
        return any(key.id == key_id for key in self.keys)

    def encrypt(self, name: str, value: str) -> tuple[str, bytes]:
        """``(key id, nonce + ciphertext)`` of ``value`` under the current key."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self.current.material).encrypt(nonce, value.encode(), _aad(name))
        return self.current.id, nonce + sealed

    def decrypt(self, name: str, key_id: str, blob: bytes) -> str:
        """The value of secret ``name``; ``UndecryptableSecret`` when no key opens it."""
        for key in self.keys:
            if key.id != key_id:
                continue
            try:
                plain = AESGCM(key.material).decrypt(
                    blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], _aad(name)
                )
            except InvalidTag:
                break
            return plain.decode()
        raise UndecryptableSecret(
            f"Secret {name!r} cannot be decrypted with the keys of {self.origin} (it was "
            f"encrypted with key {key_id}); restore that key, or set the secret again",
            name=name,
            key_id=key_id,
        )


def _aad(name: str) -> bytes:
    return _AAD_PREFIX + name.encode()
