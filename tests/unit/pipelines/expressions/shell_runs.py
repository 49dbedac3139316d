"""Run a ``run:`` script as a step runs it, with hostile values, for the injection tests.

Every payload tries to create the file ``pwned`` in the working directory; a test
passes only if it never appears.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.expressions.shell_script import prepare_script, script_environment

PAYLOADS = {
    "array subscript": "a[$(touch pwned)]",
    "double-quote breakout": '"; touch pwned; "',
    "command substitution": "$(touch pwned)",
    "backticks": "`touch pwned`",
    "single-quote breakout": "'; touch pwned; '",
    "newline": "x\ntouch pwned\n",
    "array element list": "($(touch pwned))",
}
QUOTED = {
    "no quotes": "${{ inputs.x }}",
    "double quotes": '"${{ inputs.x }}"',
    "single quotes": "'${{ inputs.x }}'",
}
_PATH = "/usr/local/bin:/usr/bin:/bin"


def context(value: str) -> dict[str, Any]:
    return {"inputs": {"x": value}}


@dataclass(frozen=True)
class StepRun:
    """What a step made of its script: refused before starting, or bash's output."""

    refused: ExpressionError | None
    stdout: str = ""
    returncode: int | None = None


def run_step(source: str, value: str, cwd: Path) -> StepRun:
    """Prepare and run ``source`` as a step does: a refused value starts no process."""
    try:
        script = prepare_script(source)
        environment = script_environment(script, source, context(value))
    except ExpressionError as error:
        return StepRun(error)
    result = _bash(script.text, environment, cwd)
    return StepRun(None, result.stdout, result.returncode)


def run_unchecked(source: str, value: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The prepared script with ``value`` in every variable, past all checks."""
    script = prepare_script(source)
    return _bash(script.text, dict.fromkeys(script.variables, value), cwd)


def _bash(text: str, environment: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", text],
        env={"PATH": _PATH, **environment},
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
