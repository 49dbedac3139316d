"""Small helpers tests import (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.forges import service as forges

GITHUB_WEBHOOKS = Path(__file__).parent / "fixtures" / "github-webhooks"
"""Real GitHub webhook payloads, one folder per event (copied from shared/testdata)."""
GITLAB_WEBHOOKS = Path(__file__).parent / "fixtures" / "gitlab-webhooks"
"""GitLab's documented webhook payloads, one file per case (see its README)."""


async def issue_token(runtime: Runtime, name: str, role: Role) -> str:
    """Create a token directly through the service and return its secret."""
    actor = Actor(name="test:setup", role=Role.ADMIN, source="test")
    issued = await auth.create_token(runtime.uow(), name, role, actor)
    return issued.secret


def gitlab_payload(name: str) -> dict[str, Any]:
    """The GitLab example payload ``name`` (``merge_request.open``) as parsed JSON."""
    document: dict[str, Any] = json.loads((GITLAB_WEBHOOKS / f"{name}.json").read_text())
    return document


def gitlab_event(kind: str, payload: Mapping[str, Any]) -> forges.ForgeEvent:
    """The forge-neutral event of a GitLab delivery of ``kind`` with ``payload``."""
    return forges.event_from_delivery(forges.GITLAB, kind, payload)


def github_event(name: str, payload: Mapping[str, Any]) -> forges.ForgeEvent:
    """The forge-neutral event of a GitHub delivery of ``name`` with ``payload``."""
    return forges.event_from_delivery(forges.GITHUB, name, payload)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def sleeping_processes(seconds: str) -> list[int]:
    """Host pids of live ``sleep <seconds>`` processes (zombies excluded).

    Sandboxed commands run in their own PID namespace, where ``$!`` is no host pid;
    tests find the processes they started by a sleep duration no one else uses.
    """
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            command = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        if command[:2] == [b"sleep", seconds.encode()] and stat[stat.rfind(")") + 2] != "Z":
            found.append(int(entry.name))
    return found
