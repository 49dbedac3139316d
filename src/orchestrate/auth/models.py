"""API tokens and audit records: the pure side of the auth capability.

Roles, permissions and actors are kernel types (``core.identity``: the web toolkit checks
them too); they are re-exported here so the capability keeps one vocabulary.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orchestrate.core.identity import Actor, Permission, Role

__all__ = [
    "Actor",
    "ApiToken",
    "AuditRecord",
    "IssuedToken",
    "Permission",
    "Role",
    "display_prefix",
    "generate_secret",
    "hash_secret",
    "validate_token_name",
]

TOKEN_PREFIX = "orc_"  # noqa: S105 - a public marker, not a secret
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True)
class ApiToken:
    """A stored token, without its secret value."""

    id: str
    name: str
    role: Role
    token_prefix: str
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the only moment its secret value exists in clear."""

    token: ApiToken
    secret: str


@dataclass(frozen=True)
class AuditRecord:
    id: int
    actor: str
    action: str
    subject: str
    source: str
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


def generate_secret() -> str:
    """A new bearer token: 256 random bits, recognisable by its ``orc_`` prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """SHA-256 is enough here: the secrets are random and long, so there is nothing to guess."""
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    """The first characters of a token, safe to show so users can tell tokens apart."""
    return secret[: len(TOKEN_PREFIX) + 6]


def validate_token_name(name: str) -> str | None:
    """The reason a token name is unacceptable, or None when it is fine."""
    if not _TOKEN_NAME.fullmatch(name):  # match() would let a trailing newline through
        return (
            "a token name is 1-100 characters of letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return None
