"""Roles, actors, API tokens and audit records: the pure side of the auth capability."""

from __future__ import annotations

import getpass
import hashlib
import re
import secrets
import socket
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

TOKEN_PREFIX = "orc_"  # noqa: S105 - a public marker, not a secret
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class Permission(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


class Role(StrEnum):
    """What a token may do: viewers read, operators also change things, admins manage access."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"

    def allows(self, permission: Permission) -> bool:
        return permission in _ROLE_PERMISSIONS[self]


_ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({Permission.READ, Permission.WRITE}),
    Role.VIEWER: frozenset({Permission.READ}),
}


@dataclass(frozen=True)
class Actor:
    """Who is doing something, with which role, and from where (for the audit log)."""

    name: str
    role: Role
    source: str

    @classmethod
    def local_cli(cls) -> Actor:
        """The person at this terminal: the CLI talks to the database with full rights."""
        return cls(
            name=f"cli:{_login_name()}", role=Role.ADMIN, source=f"cli@{socket.gethostname()}"
        )

    @classmethod
    def system(cls, component: str) -> Actor:
        """Orchestrate itself acting (the server bootstrapping, a worker, a schedule)."""
        return cls(name=f"system:{component}", role=Role.ADMIN, source=socket.gethostname())


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "unknown"


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
