"""Small helpers tests import (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime

GITHUB_WEBHOOKS = Path(__file__).parent / "fixtures" / "github-webhooks"
"""Real GitHub webhook payloads, one folder per event (copied from shared/testdata)."""


async def issue_token(runtime: Runtime, name: str, role: Role) -> str:
    """Create a token directly through the service and return its secret."""
    actor = Actor(name="test:setup", role=Role.ADMIN, source="test")
    issued = await auth.create_token(runtime.uow(), name, role, actor)
    return issued.secret


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
