"""Regenerate ``calculator.session.jsonl``, the scripted session the demo replays.

The session is what a model would answer at each turn of a story-developer run on
``examples/calculator``: run the tests, read the code, fix it, rerun, commit, finish.
It is recorded through the real agent loop (RecordingProvider around a scripted
provider), so the replay matches what the loop sends. Run from the repository root:

    .venv/bin/python examples/record_demo_session.py
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent
from orchestrate.agents.sessions import run_identity
from orchestrate.auth.service import Actor
from orchestrate.core.migrate import upgrade_to_head
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.llm.models import Usage
from orchestrate.llm.replay import RecordingProvider
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call

HERE = Path(__file__).parent
SESSION = HERE / "calculator.session.jsonl"
MODEL = "claude-sonnet-4-6"
USAGE = Usage(input_tokens=2400, output_tokens=180, cache_read_tokens=1800)
TEST = "python -m unittest -v test_calc.py"

STEPS = [
    tool_call(
        "bash",
        {"command": TEST},
        text="First I'll run the tests to see what fails.",
        id="toolu_demo_01",
        usage=USAGE,
        model=MODEL,
    ),
    tool_call(
        "read_file",
        {"path": "calc.py"},
        text="test_add fails: add(2, 3) gives -1. Let me look at add().",
        id="toolu_demo_02",
        usage=USAGE,
        model=MODEL,
    ),
    tool_call(
        "edit_file",
        {"path": "calc.py", "old_string": "return a - b", "new_string": "return a + b"},
        text="add() subtracts. Fixing the operator.",
        id="toolu_demo_03",
        usage=USAGE,
        model=MODEL,
    ),
    tool_call(
        "bash",
        {"command": TEST},
        text="Rerunning the tests.",
        id="toolu_demo_04",
        usage=USAGE,
        model=MODEL,
    ),
    tool_call(
        "git", {"action": "add", "paths": ["calc.py"]}, id="toolu_demo_05", usage=USAGE, model=MODEL
    ),
    tool_call(
        "git",
        {
            "action": "commit",
            "message": "Make add() add instead of subtract\n\n"
            "test_add expected add(2, 3) == 5 and got -1.",
        },
        id="toolu_demo_06",
        usage=USAGE,
        model=MODEL,
    ),
    finish(
        "completed",
        "Fixed add() in calc.py (it subtracted). Both tests pass; committed on this branch.",
        id="toolu_demo_07",
        usage=USAGE,
        model=MODEL,
    ),
]


def prepare_repository(target: Path) -> Path:
    """Copy the sample project and make it a git repository with one commit."""
    shutil.copytree(HERE / "calculator", target, ignore=shutil.ignore_patterns("__pycache__"))
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "."],
        [
            "-c",
            "user.name=Demo",
            "-c",
            "user.email=demo@example.com",
            "commit",
            "-qm",
            "Add the calculator",
        ],
    ):
        subprocess.run(["git", "-C", str(target), *args], check=True)
    return target


async def record(home: Path, repo: Path) -> None:
    settings = Settings(  # type: ignore[call-arg]
        home=home,
        # The agent's `python -m unittest` must find this interpreter inside the sandbox,
        # or the recording holds "python: command not found" and the replay diverges.
        sandbox_path=f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin",
        sandbox_read_only_paths=[Path(sys.prefix), Path(sys.base_prefix)],
    )
    runtime = Runtime.open(settings)
    try:
        run = await service.start_agent(
            runtime.uow(),
            settings,
            service.StartAgent(
                type="story-developer",
                task="Make the calculator's tests pass",
                repo=repo,
                provider="replay:" + str(SESSION),
                model=MODEL,
                enqueue=False,
            ),
            Actor.local_cli(),
        )
        model = ScriptedProvider(STEPS)
        finished = await execute_agent(
            runtime,
            run.id,
            # The run's identity (paths, branch) goes into the header: replays mask it.
            lambda run: RecordingProvider(model, SESSION, identity=run_identity(run)),
        )
        print(finished.state.value, finished.summary)
    finally:
        await runtime.close()


def main() -> None:
    SESSION.unlink(missing_ok=True)
    SESSION.touch()
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        upgrade_to_head(Settings(home=home).database_url_value)  # type: ignore[call-arg]
        repo = prepare_repository(Path(scratch) / "calculator")
        asyncio.run(record(home, repo))


if __name__ == "__main__":
    main()
