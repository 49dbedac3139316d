"""``scan:`` steps: a security scan of the run's workspace gates the pipeline (both
database engines, the real scanners)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from orchestrate.core.runtime import Runtime
from orchestrate.pipelines.spec.problems import PipelineInvalid
from orchestrate.security import service as security
from tests.integration.pipelines.engine.conftest import Pipelines, statuses
from tests.unit.security.secrets.builders import github_token

# A made-up token of GitHub's documented shape (ghp_, 30 random characters and their
# CRC32 checksum), drawn when the tests load.
TOKEN = github_token()


def scanning(write: str, *, extra: str = "") -> str:
    return f"""
name: gate
steps:
  - id: build
    run: |
      {write}
  - id: security
    needs: build
    scan:
      scanners: [secrets]
      fail_on: high{extra}
  - id: after
    needs: security
    if: always()
    run: echo "${{{{ needs.security.outputs.passed }}}} ${{{{ needs.security.outputs.failing }}}}"
"""


async def test_a_committed_token_fails_the_step_and_the_scan_is_recorded(
    pipelines: Pipelines, runtime: Runtime
) -> None:
    await pipelines.register(scanning(f"printf 'GITHUB_TOKEN = \"{TOKEN}\"\\n' > settings.py"))

    run = await pipelines.run("gate")

    assert statuses(run)["security"] == "failure"
    step = next(s for s in run.steps if s.key == "security")
    assert step.outputs["passed"] == "false"
    assert step.outputs["failing"] == "1"
    assert "1 new security finding(s) at or above high" in (step.error or "")
    scan = await security.get_scan(runtime.uow(read_only=True), step.outputs["scan_id"])
    assert (scan.source, scan.new_count, scan.passed) == ("pipeline", 1, False)
    page = await security.list_findings(runtime.uow(read_only=True), scan.id)
    (finding,) = page.items
    assert finding.finding.location.path == "settings.py"
    assert TOKEN not in finding.finding.snippet
    assert step.log_path is not None
    log = Path(step.log_path).read_text()
    assert "**Gate failed**" in log
    assert TOKEN not in log


async def test_a_clean_workspace_passes(pipelines: Pipelines) -> None:
    await pipelines.register(scanning("printf 'print(1)\\n' > app.py"))

    run = await pipelines.run("gate")

    assert statuses(run) == {"build": "success", "security": "success", "after": "success"}
    step = next(s for s in run.steps if s.key == "security")
    assert step.outputs["passed"] == "true"


async def test_a_baselined_token_does_not_gate(pipelines: Pipelines, runtime: Runtime) -> None:
    await pipelines.register(scanning(f"printf 'GITHUB_TOKEN = \"{TOKEN}\"\\n' > settings.py"))
    first = await pipelines.run("gate")
    scan_id = next(s for s in first.steps if s.key == "security").outputs["scan_id"]
    report = await security.stored_report(runtime.uow(read_only=True), scan_id)
    baseline = runtime.settings.home / "baseline.json"
    security.write_baseline(baseline, report.new, report.finished_at)
    # The step's sandbox sees only its workspace: the baseline travels in the command.
    encoded = base64.b64encode(baseline.read_bytes()).decode()
    copy = (
        f"echo {encoded} | base64 -d > baseline.json && "
        f"printf '\\nGITHUB_TOKEN = \"{TOKEN}\"\\n' > settings.py"
    )
    await pipelines.register(
        scanning(copy, extra="\n      baseline: baseline.json").replace("name: gate", "name: gated")
    )

    run = await pipelines.run("gated")

    step = next(s for s in run.steps if s.key == "security")
    assert statuses(run)["security"] == "success"
    assert (step.outputs["failing"], step.outputs["baselined"]) == ("0", "1")


async def test_a_path_out_of_the_workspace_fails_the_step(pipelines: Pipelines) -> None:
    await pipelines.register(
        """
name: escape
steps:
  - id: security
    scan:
      path: ../..
"""
    )

    run = await pipelines.run("escape")

    step = next(s for s in run.steps if s.key == "security")
    assert step.status.value == "failure"
    assert "outside the run's workspace" in (step.error or "")


async def test_an_unknown_scanner_is_refused_at_registration(pipelines: Pipelines) -> None:
    with pytest.raises(PipelineInvalid, match="unknown scanner 'virus'"):
        await pipelines.register(
            """
name: bad
steps:
  - id: security
    scan:
      scanners: [secrets, virus]
"""
        )


def hiding_in_one_commit(diff: str) -> str:
    """A workspace whose last commit adds a token and, with it, a configuration that
    allowlists the token's folder and disables GitHub's rule; ``scan`` diffs it."""
    git = "git -c user.name=t -c user.email=t@example.com -c init.defaultBranch=main"
    return f"""
name: hiding
steps:
  - id: build
    run: |
      {git} init -q .
      printf 'shop\\n' > README.md
      {git} add . && {git} commit -qm base && {git} tag base
      mkdir app && printf 'TOKEN = "{TOKEN}"\\n' > app/keys.py
      printf 'disabled_rules = ["github-pat"]\\n[allowlist]\\npaths = ["app/**"]\\n' \\
        > .orchestrate-secrets.toml
      {git} add . && {git} commit -qm "a key, and a config that hides it"
  - id: security
    needs: build
    scan:
      scanners: [secrets]
      diff: {diff}
"""


async def test_a_diff_gate_reads_the_configuration_of_its_base(pipelines: Pipelines) -> None:
    """A pull request cannot allowlist its own secret: the ``diff:`` scan judges the
    changes with ``.orchestrate-secrets.toml`` as the base has it."""
    await pipelines.register(hiding_in_one_commit("base"))

    run = await pipelines.run("hiding")

    step = next(s for s in run.steps if s.key == "security")
    assert statuses(run)["security"] == "failure", step.error
    assert step.outputs["failing"] == "1"
    assert step.log_path is not None
    assert "differs from its version at base" in Path(step.log_path).read_text()


async def test_a_diff_that_is_not_a_ref_fails_the_step(pipelines: Pipelines) -> None:
    await pipelines.register(hiding_in_one_commit('"--output=/tmp/x"'))

    run = await pipelines.run("hiding")

    step = next(s for s in run.steps if s.key == "security")
    assert step.status.value == "failure"
    assert "is not a git ref" in (step.error or "")
