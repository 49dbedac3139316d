"""Fixtures for the escape suite: a repository with an agent worktree, places to escape to."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate.agents.workspaces import create_workspace
from orchestrate.core.sandbox import SandboxPolicy, require_sandbox

CANARY = "HOST_CANARY"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    ).stdout


def make_repository(root: Path) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    (root / "README.md").write_text("a repository\n")
    (root / "test_ok.py").write_text(
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n"
        "        self.assertEqual(1 + 1, 2)\n"
    )
    git(root, "add", ".")
    git(root, "-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "-qm", "init")
    return root


@dataclass
class Places:
    """The host places each escape attempt aims at."""

    home: Path
    database: Path
    other_repo: Path
    outside: Path
    common: Path
    checkout: Path
    port: int

    def values(self) -> dict[str, object]:
        return {
            "home": self.home,
            "database": self.database,
            "other_repo": self.other_repo,
            "outside": self.outside,
            "common": self.common,
            "checkout": self.checkout,
            "port": self.port,
            "host_pid": os.getpid(),
        }


@pytest.fixture(autouse=True)
def canary(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable in the worker's own environment that no sandboxed process may see."""
    monkeypatch.setenv(CANARY, "sk-canary-must-not-leak")


@pytest.fixture(scope="session")
def policy() -> SandboxPolicy:
    confined = SandboxPolicy(max_processes=64, max_file_bytes=8 * 1024 * 1024)
    require_sandbox(confined)
    return confined


@pytest.fixture
def loopback_port() -> Iterator[int]:
    """A listener on 127.0.0.1 that accepts whoever reaches it."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                connection.close()
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


@pytest.fixture
def places(tmp_path: Path, loopback_port: int) -> Places:
    home = tmp_path / "home"
    home.mkdir()
    (home / "orchestrate.db").write_bytes(b"SQLite format 3\x00" + b"\x00" * 64)
    outside = tmp_path / "outside"
    outside.mkdir()
    checkout = make_repository(tmp_path / "project")
    (checkout / "private.txt").write_text("the user's uncommitted notes\n")
    return Places(
        home=home,
        database=home / "orchestrate.db",
        other_repo=make_repository(tmp_path / "other"),
        outside=outside,
        common=checkout / ".git",
        checkout=checkout,
        port=loopback_port,
    )


@pytest.fixture
async def agent_workspace(places: Places) -> Path:
    """A real agent worktree of ``places.checkout`` on its own branch."""
    workspace = await create_workspace(places.checkout, "agent_escape", "escape-suite")
    return workspace.path
