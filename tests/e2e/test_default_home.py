"""The newcomer's path: default settings, a relative home, run from a bare directory.

Every other test sets an absolute ``ORCHESTRATE_HOME``; these set nothing, so the home is
``./.orchestrate`` as a new user gets it, and steps run in workspaces elsewhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ORCHESTRATE = [sys.executable, "-m", "orchestrate"]


def default_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any ORCHESTRATE_* setting, plus ``extra``."""
    values = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    return {**values, "ORCHESTRATE_LOG_LEVEL": "warning", **extra}


def orchestrate(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ORCHESTRATE, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# Without the sandbox a step sees the real path of its $ORCHESTRATE_OUTPUT file, which
# was relative to the directory the CLI started in, not to the step's workspace.
@pytest.mark.parametrize("sandbox", ["bubblewrap", "none"])
def test_the_readme_ci_pipeline_succeeds_with_a_relative_default_home(
    tmp_path: Path, sandbox: str
) -> None:
    env = default_env(ORCHESTRATE_SANDBOX=sandbox)
    ci_file = ".orchestrate/pipelines/ci.yml"
    for args in (
        ["db", "upgrade"],
        ["pipeline", "init", "--template", "ci", "--output", ci_file],
        ["pipeline", "create", ci_file],
    ):
        assert orchestrate(tmp_path, env, *args).returncode == 0

    result = orchestrate(
        tmp_path, env, "pipeline", "trigger", "ci", "--input", "test_command=true", "--wait"
    )

    assert result.returncode == 0, result.stderr
    shown = orchestrate(tmp_path, env, "pipeline", "run-show", result.stdout.strip(), "--json")
    run = json.loads(shown.stdout)
    assert run["status"] == "success"
    assert run["steps"][0]["outputs"]["exit_code"] == "0"
    # A worker started in another directory must find the same workspace.
    workspace = Path(run["workspace_path"])
    assert workspace.is_absolute()
    assert workspace.is_relative_to(tmp_path.resolve() / ".orchestrate")


def test_config_show_names_the_absolute_home_under_the_working_directory(
    tmp_path: Path,
) -> None:
    env = default_env()

    shown = orchestrate(tmp_path, env, "config", "show", "--json")

    assert shown.returncode == 0, shown.stderr
    home = Path(json.loads(shown.stdout)["home"]["value"])
    assert home == tmp_path.resolve() / ".orchestrate"
