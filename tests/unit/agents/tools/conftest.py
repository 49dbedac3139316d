from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from tests.unit.agents.tools.support import make_context


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "workspace"
    path.mkdir()
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory next to the workspace holding a file the agent must never reach."""
    path = tmp_path / "outside"
    path.mkdir()
    (path / "secret.txt").write_text("the secret\n")
    return path


@pytest.fixture
def context(workspace: Path) -> ToolContext:
    return make_context(workspace)
