"""The README's quick start and tour, run verbatim as a new user would paste them.

Every ``sh`` block of README.md preceded by ``<!-- readme-test: run -->`` runs, in the
order written, in one fresh directory: default settings (no ``ORCHESTRATE_*`` variable,
so the home is ``./.orchestrate`` and the database SQLite), ``orchestrate`` on PATH, no
network. Each block runs under ``bash -euo pipefail``, so every command in it must exit 0.
A block marked ``<!-- readme-test: run with serve -->`` runs while ``orchestrate serve``
runs in the background (on a free port, passed as ``ORCHESTRATE_PORT``, which the
README's URLs read); serve is stopped after it.

Every other ``sh`` block must be listed in ``EXEMPT`` with the reason it cannot run here,
so a new block is either tested or consciously exempted.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.processes import Server, free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

EXEMPT = {
    "make run": "starts serve in the foreground after installing into .venv; `make test` "
    "runs the whole suite, this test included. Both need the repository checkout.",
    "make demo": "runs examples/demo.sh from the repository checkout, after `make` installs "
    "the package and (as root) the sandbox tools; the replayed session it drives is "
    "covered by tests/e2e/test_agents.py.",
    "export ANTHROPIC_API_KEY=sk-ant-...": "needs a real model's API key and the network.",
    "export ORCHESTRATE_DATABASE_URL=postgresql+asyncpg://user:password@host/orchestrate": (
        "needs a PostgreSQL server, and starts serve and a worker that run until stopped."
    ),
}

_BLOCK = re.compile(r"(?:<!-- readme-test: (?P<mark>[a-z ]+) -->\n)?```sh\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class Block:
    mark: str | None
    body: str

    @property
    def first_command(self) -> str:
        return self.body.splitlines()[0].split("  #", 1)[0].strip()


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    return [Block(m.group("mark"), m.group("body")) for m in _BLOCK.finditer(text)]


def test_every_shell_block_is_run_or_exempt_with_a_reason() -> None:
    blocks = readme_blocks()
    unmarked = [block.first_command for block in blocks if block.mark is None]
    marks = {block.mark for block in blocks if block.mark is not None}

    assert sorted(unmarked) == sorted(EXEMPT)
    assert marks <= {"run", "run with serve"}
    assert len(blocks) - len(unmarked) >= 6


def test_the_readme_links_every_document_in_docs() -> None:
    text = README.read_text(encoding="utf-8")

    missing = [
        p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"(docs/{p.name}" not in text
    ]

    assert missing == []


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    bin_dir = str(Path(sys.executable).parent)
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "HOME": str(tmp_path)}


def _run(block: Block, cwd: Path, env: dict[str, str]) -> None:
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.body],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"README block failed (exit {result.returncode}):\n{block.body}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def _wait_for_on_push_run(cwd: Path, env: dict[str, str]) -> str:
    """The status of the run the replayed webhook started, once serve's worker ended it."""
    deadline = time.monotonic() + 120
    status = "unknown"
    while time.monotonic() < deadline:
        listed = subprocess.run(
            ["orchestrate", "pipeline", "runs", "on-push", "--json"],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs = json.loads(listed.stdout)
        status = runs[0]["status"] if runs else "missing"
        if status in {"success", "failure", "cancelled"}:
            return str(status)
        time.sleep(0.5)
    return status


@pytest.mark.slow
def test_the_quick_start_and_tour_run_verbatim_in_a_fresh_directory(tmp_path: Path) -> None:
    env = _environment(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    for block in readme_blocks():
        if block.mark == "run":
            _run(block, work, env)
        elif block.mark == "run with serve":
            with_port = {**env, "ORCHESTRATE_PORT": str(free_port())}
            # As a second terminal would run it: the installed command, in the directory.
            serve = Server(with_port, command=["orchestrate"], cwd=work, ready_within=120)
            try:
                _run(block, work, with_port)
                # The tour says serve's worker runs the run the replayed webhook started.
                assert _wait_for_on_push_run(work, with_port) == "success"
            finally:
                serve.stop()
    assert (work / ".orchestrate" / "orchestrate.db").is_file()
