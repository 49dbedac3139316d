"""Crash safety: SIGKILL the worker again and again during a 20-step pipeline.

Ten times over, a real ``orchestrate worker`` process is killed at a random moment and
a new one started. Afterwards every run must reach its correct final status, every
step its correct status, and each step's outputs must come from exactly one attempt
that ran to its end (the journal every attempt writes proves which ones did). Nothing
may be left running or queued.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service
from orchestrate.pipelines.models import PipelineRun

pytestmark = pytest.mark.slow

KILLS = 10
BUILDS = 6


def step(step_id: str, journal: Path, *, needs: list[str] | None = None, extra: str = "") -> str:
    """A step that journals its start and its end around a short random sleep."""
    lines = [f"  - id: {step_id}"]
    if needs:
        lines.append(f"    needs: [{', '.join(needs)}]")
    if extra:
        lines.extend(f"    {line}" for line in extra.strip().splitlines())
    lines += [
        "    run: |",
        "      token=\"$ORCHESTRATE_STEP-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')\"",
        f'      echo "start $ORCHESTRATE_RUN_ID $ORCHESTRATE_STEP $token" >> {journal}',
        "      sleep 0.$((RANDOM % 4 + 1))",
        '      echo "token=$token" >> "$ORCHESTRATE_OUTPUT"',
        f'      echo "end $ORCHESTRATE_RUN_ID $ORCHESTRATE_STEP $token" >> {journal}',
    ]
    return "\n".join(lines)


def twenty_steps(journal: Path, marker_dir: Path) -> str:
    builds = [f"build_{n}" for n in range(1, BUILDS + 1)]
    tests = [f"test_{n}" for n in range(1, BUILDS + 1)]
    steps = [step("prepare", journal)]
    steps += [step(build, journal, needs=["prepare"]) for build in builds]
    breaking = "if [ '${{ inputs.broken }}' = true ]; then exit 1; fi"
    for build, test in zip(builds, tests, strict=True):
        test_step = step(test, journal, needs=[build])
        if test == "test_3":
            test_step = test_step.replace("    run: |\n", f"    run: |\n      {breaking}\n", 1)
        steps.append(test_step)
    flaky_check = (
        f'test -f {marker_dir}/"$ORCHESTRATE_RUN_ID" || '
        f'{{ touch {marker_dir}/"$ORCHESTRATE_RUN_ID"; exit 1; }}'
    )
    flaky = step("flaky", journal, needs=["test_1"], extra="retry: {attempts: 3, backoff: 1}")
    steps.append(flaky.replace("    run: |\n", f"    run: |\n      {flaky_check}\n", 1))
    lint = step("lint", journal, needs=["prepare"], extra="continue_on_error: true")
    steps.append(lint.replace("    run: |\n", "    run: |\n      exit 1\n", 1))
    steps.append(step("notify_lint", journal, needs=["lint"], extra="if: failure()"))
    steps.append(step("package", journal, needs=[*tests, "flaky"]))
    steps.append(step("publish", journal, needs=["package"]))
    steps.append(step("report", journal, needs=["publish"], extra="if: always()"))
    steps.append(step("summary", journal, needs=["report"]))
    header = "name: crashy\ninputs:\n  broken: {type: boolean, default: false}\nsteps:\n"
    return header + "\n".join(steps) + "\n"


def expected_statuses(broken: bool) -> dict[str, str]:
    statuses = {"prepare": "success", "lint": "failure", "notify_lint": "skipped"}
    statuses |= {f"build_{n}": "success" for n in range(1, BUILDS + 1)}
    statuses |= {f"test_{n}": "success" for n in range(1, BUILDS + 1)}
    statuses |= {"flaky": "success", "package": "success", "publish": "success"}
    statuses |= {"report": "success", "summary": "success"}
    if broken:
        statuses |= {"test_3": "failure", "package": "skipped", "publish": "skipped"}
        # As in GitHub Actions, success() looks at every ancestor, not just the direct need.
        statuses |= {"summary": "skipped"}
    return statuses


def start_worker(settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env |= {
        "ORCHESTRATE_DATABASE_URL": settings.database_url_value,
        "ORCHESTRATE_HOME": str(settings.home),
        "ORCHESTRATE_JOB_LEASE_SECONDS": "1.5",
        "ORCHESTRATE_WORKER_POLL_MAX_SECONDS": "0.2",
        "ORCHESTRATE_LOG_FORMAT": "json",
        # The steps write one journal shared by every run, outside any workspace: a
        # side channel the sandbox rightly forbids. This test is about the engine's
        # exactly-once guarantees; confinement has its own suite (tests/integration/core/sandbox).
        "ORCHESTRATE_SANDBOX": "none",
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "orchestrate", "worker"], env=env, stdout=output, stderr=output
        )


async def settled(runtime: Runtime, run_ids: list[str]) -> list[PipelineRun]:
    return [await service.get_run(runtime.uow(read_only=True), run_id) for run_id in run_ids]


async def test_runs_survive_ten_worker_kills_with_exactly_once_outputs(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    journal, markers, worker_log = (
        tmp_path / "journal",
        tmp_path / "markers",
        tmp_path / "worker.log",
    )
    markers.mkdir()
    actor = Actor.system("test")
    source = service.PipelineSource(twenty_steps(journal, markers))
    await service.register_pipeline(runtime.uow(), source, actor)
    runs = []
    for broken in (False, True):
        request = service.TriggerRequest("crashy", inputs={"broken": broken})
        runs.append(await service.trigger_pipeline(runtime.uow(), settings, request, actor))
    chance = random.Random(20261125)
    for _ in range(KILLS):
        worker = start_worker(settings, worker_log)
        await asyncio.sleep(chance.uniform(1.0, 3.0))
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    worker = start_worker(settings, worker_log)
    try:
        for _ in range(600):
            finished = await settled(runtime, [run.id for run in runs])
            if all(run.status.is_terminal for run in finished):
                break
            await asyncio.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)

    ends = Counter(
        line.split()[3] for line in journal.read_text().splitlines() if line.startswith("end ")
    )
    for run, broken in zip(finished, (False, True), strict=True):
        assert run.status.value == ("failure" if broken else "success"), worker_log.read_text()[
            -3000:
        ]
        actual, expected = {s.key: s.status.value for s in run.steps}, expected_statuses(broken)
        assert actual == expected, {
            k: (actual.get(k), v) for k, v in expected.items() if actual.get(k) != v
        }
        for step_run in run.steps:
            if step_run.status.value == "success":
                token = step_run.outputs["token"]
                assert token.startswith(f"{step_run.key}-")
                assert ends[token] == 1, (
                    f"{run.id} {step_run.key}: {token} not from one whole attempt"
                )
            assert step_run.finished_at is not None
