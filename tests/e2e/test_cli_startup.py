"""What ``orchestrate`` loads and touches for commands that need no capability or database.

Checked structurally, in a fresh interpreter each: the modules a command leaves in
``sys.modules``, and whether it works when the database cannot be opened at all. How
long they take is measured by ``bench/cli_startup.py``, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrate.app.capabilities import CAPABILITIES
from orchestrate.app.capabilities import commands as capability_commands
from orchestrate.app.cli import PLATFORM_COMMANDS

pytestmark = pytest.mark.slow

# Runs the real root command in this interpreter, then writes what got imported.
_PROBE = """
import json, sys
from orchestrate.app.cli import main
sys.argv = ["orchestrate", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
with open(OUT, "w") as out:
    json.dump(sorted(sys.modules), out)
"""

# Heavy or database-bound libraries none of these commands needs.
HEAVY = ("sqlalchemy", "alembic", "fastapi", "uvicorn", "anthropic", "openai", "asyncpg")


def _capability_packages() -> set[str]:
    packages = {f"orchestrate.{capability.name}" for capability in CAPABILITIES}
    return packages | {"orchestrate.migrations", "orchestrate.testing"}


def _environment(tmp_path: Path, database_url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env["ORCHESTRATE_HOME"] = str(tmp_path / "home")
    if database_url is not None:
        env["ORCHESTRATE_DATABASE_URL"] = database_url
    return env


def loaded_modules(tmp_path: Path, *args: str) -> tuple[set[str], str]:
    """The modules ``orchestrate ARGS`` imports, and what it printed."""
    out = tmp_path / "modules.json"
    probe = _PROBE.replace("OUT", repr(str(out)))
    result = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(list(args))],
        env=_environment(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(out.read_text())), result.stdout


def _from(modules: set[str], packages: tuple[str, ...] | set[str]) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(f"{p}.") for p in packages)}


@pytest.mark.parametrize("args", [("--version",), ("--help",)], ids=" ".join)
def test_the_root_command_imports_no_capability(tmp_path: Path, args: tuple[str, ...]) -> None:
    modules, _ = loaded_modules(tmp_path, *args)
    assert _from(modules, _capability_packages()) == set()
    assert _from(modules, HEAVY) == set()


def test_help_lists_every_command_without_importing_it(tmp_path: Path) -> None:
    modules, output = loaded_modules(tmp_path, "--help")
    listed = [line.split()[1] for line in output.splitlines() if line.startswith("│ ")]
    expected = [command.name for command in (*PLATFORM_COMMANDS, *capability_commands())]
    assert [name for name in listed if name in expected] == expected
    assert "orchestrate.pipelines" not in modules


def test_a_command_imports_its_own_capability_only_when_invoked(tmp_path: Path) -> None:
    modules, _ = loaded_modules(tmp_path, "pipeline", "schema")
    assert "orchestrate.pipelines.cli" in modules
    assert "orchestrate.monitoring" not in modules  # nothing pipelines depends on


def _run(tmp_path: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrate", *args],
        env=_environment(tmp_path, database_url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_commands_that_need_no_database_work_when_it_cannot_be_reached(tmp_path: Path) -> None:
    # Nothing listens on port 9 of this machine: a connection attempt is refused at once.
    unreachable = "postgresql+asyncpg://orchestrate@127.0.0.1:9/orchestrate"
    pipeline = tmp_path / "ci.yml"
    init = _run(tmp_path, unreachable, "pipeline", "init", "-t", "ci", "-o", str(pipeline))
    assert init.returncode == 0, init.stderr
    for args in _needing_no_database(pipeline):
        result = _run(tmp_path, unreachable, *args)
        assert result.returncode == 0, f"{args}: {result.stderr}"

    # The probe is a real one: a command that needs the database fails on the same URL.
    needs_it = _run(tmp_path, unreachable, "token", "list")
    assert needs_it.returncode == 1
    assert "Cannot reach the database" in needs_it.stderr


def test_commands_that_need_no_database_leave_no_database_behind(tmp_path: Path) -> None:
    database = tmp_path / "data" / "orchestrate.db"
    url = f"sqlite+aiosqlite:///{database}"
    pipeline = tmp_path / "ci.yml"
    assert _run(tmp_path, url, "pipeline", "init", "-t", "ci", "-o", str(pipeline)).returncode == 0
    for args in _needing_no_database(pipeline):
        assert _run(tmp_path, url, *args).returncode == 0
    assert not database.exists()

    # Whereas one command that needs it creates and migrates it.
    assert _run(tmp_path, url, "token", "list").returncode == 0
    assert database.exists()


def _needing_no_database(pipeline: Path) -> list[tuple[str, ...]]:
    return [
        ("pipeline", "validate", str(pipeline)),
        ("pipeline", "schema"),
        ("pipeline", "templates"),
        ("config", "show"),
    ]
