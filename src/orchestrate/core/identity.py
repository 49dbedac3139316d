"""Who acts, with which role: the identity every use case, audit record and route needs.

These types live in the kernel, not in ``auth``, because the toolkits check them too:
``web.deps`` turns a request into an :class:`Actor` and refuses what its role may not
do, and a toolkit imports no capability. The ``auth`` capability issues the tokens
that stand for actors, stores the audit log and re-exports these names.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from enum import StrEnum

from orchestrate.core.errors import PermissionDenied


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


def authorize(actor: Actor, permission: Permission) -> None:
    """Raise ``PermissionDenied`` unless the actor's role allows ``permission``."""
    if not actor.role.allows(permission):
        raise PermissionDenied(
            f"Role {actor.role.value!r} of {actor.name} may not {permission.value}",
            actor=actor.name,
            role=actor.role.value,
            permission=permission.value,
        )


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, e.g. in some containers
        return "unknown"
