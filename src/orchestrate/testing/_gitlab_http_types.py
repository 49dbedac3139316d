"""A request to the fake GitLab's API and its answer, shared by its endpoint modules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrate.testing._gitlab_state import User


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # JSON, or text for text/plain
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One authenticated request: its path segments (decoded) and merged parameters."""

    method: str
    path: str
    segments: tuple[str, ...]
    params: Mapping[str, Any]
    user: User
