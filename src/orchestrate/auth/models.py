"""API tokens and audit records: the pure side of the auth capability.

Roles, permissions and actors are kernel types (``core.identity``: the web toolkit checks
them too); they are re-exported here so the capability keeps one vocabulary.
"""

from __future__ import annotations

import hashlib
import hmac
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
    "DashboardLogin",
    "DashboardSession",
    "IssuedToken",
    "Permission",
    "Role",
    "csrf_token_for",
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
class DashboardSession:
    """A signed-in browser: who it acts as, and the CSRF token its forms must carry."""

    id: str
    actor: Actor
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class DashboardLogin:
    """A session just opened: the only moment the cookie's secret exists in clear."""

    session: DashboardSession
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


def csrf_token_for(session_secret: str) -> str:
    """The CSRF token of a session, derived from its secret: nothing more to store.

    A forged cross-site form cannot carry it (the attacker never sees the cookie, and
    the token reveals nothing of it), and it changes with every new session.
    """
    return hmac.new(session_secret.encode(), b"orchestrate-csrf", hashlib.sha256).hexdigest()
