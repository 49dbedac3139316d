"""The ``scan:`` step: a security scan of the run's workspace, gating the pipeline.

The step succeeds when no new finding (neither in the baseline nor suppressed) is at or
above ``fail_on``; it fails otherwise, naming how many and the scan to read. The scan is
recorded (``security scans``), its Markdown report is the step's log, and its outputs
say what a later step needs: ``scan_id``, ``passed``, ``new``, ``failing``,
``baselined``. Paths in the spec stay inside the workspace: the spec may be a
contributor's, and a ``../`` must not point the scanner at the worker's files.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import structlog

from orchestrate.auth.service import Actor, Role
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.jobs import JobContext
from orchestrate.pipelines.attempt import Attempt
from orchestrate.pipelines.contexts import render
from orchestrate.pipelines.engine import Outcome
from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.kinds import AttemptRef
from orchestrate.pipelines.models import StepStatus
from orchestrate.pipelines.workspace import ensure_workspace
from orchestrate.security import service as security

log = structlog.get_logger(__name__)


async def run_scan_step(job: JobContext[AttemptRef], attempt: Attempt) -> Outcome:
    """Scan, record, write the report to the step's log; the gate decides the status."""
    values = _rendered(attempt)
    workspace = (await ensure_workspace(attempt.workspace, attempt.repo)).resolve()
    root = _inside(workspace, values["path"], "path")
    baseline = _inside(workspace, values["baseline"], "baseline") if values["baseline"] else None
    settings = job.runtime.settings
    request = security.ScanRequest(
        root=root,
        categories=security.parse_categories(values["scanners"]),
        fail_on=security.severity_of(values["fail_on"] or settings.security_fail_on),
        baseline=baseline,
        explicit=security.parse_categories(values["scanners"])
        if values["scanners"]
        else frozenset(),
        secret_source=security.SecretSource.DIFF if values["diff"] else security.SecretSource.TREE,
        diff_base=values["diff"],
    )
    actor = Actor(
        name=attempt.created_by, role=Role.OPERATOR, source=f"pipeline run {attempt.run_id}"
    )
    report, scan = await security.scan_and_record(
        job.runtime.uow(), settings, job.runtime.clock, request, actor=actor, source="pipeline"
    )
    text = security.render(report, security.OutputFormat.MARKDOWN)
    await asyncio.to_thread(_write_log, attempt.log_path, text)
    outputs: dict[str, Any] = {
        "scan_id": scan.id,
        "passed": str(report.passed).lower(),
        "new": str(len(report.new)),
        "failing": str(len(report.failing)),
        "baselined": str(len(report.baselined)),
    }
    log.info(
        "pipeline_scan_step_ended",
        run_id=attempt.run_id,
        step=attempt.key,
        scan_id=scan.id,
        passed=report.passed,
    )
    if report.passed:
        return Outcome(StepStatus.SUCCESS, outputs)
    return Outcome(
        StepStatus.FAILURE,
        outputs,
        error=(
            f"{len(report.failing)} new security finding(s) at or above "
            f"{report.fail_on.value} (scan {scan.id}; `orchestrate security findings "
            f"{scan.id}`)"
        ),
    )


def _rendered(attempt: Attempt) -> dict[str, Any]:
    spec = attempt.step.scan
    assert spec is not None
    raw = {
        "path": spec.path,
        "fail_on": spec.fail_on,
        "baseline": spec.baseline,
        "diff": spec.diff,
    }
    try:
        values = render(raw, attempt.context)
    except ExpressionError as error:
        raise ValidationFailed(f"scan: {error}") from None
    return {
        "path": str(values["path"] or ".").strip() or ".",
        "fail_on": str(values["fail_on"]).strip() if values["fail_on"] else None,
        "baseline": str(values["baseline"]).strip() if values["baseline"] else None,
        "diff": _ref(values["diff"]),
        "scanners": list(spec.scanners),
    }


def _ref(value: Any) -> str | None:
    """A ``diff`` base: a git ref, never an option (it may come from a webhook)."""
    if value in (None, ""):
        return None
    ref = str(value).strip()
    if not ref or ref.startswith("-") or any(c.isspace() or ord(c) < 32 for c in ref):
        raise ValidationFailed(f"scan: 'diff' {ref!r} is not a git ref")
    return ref


def _inside(workspace: Path, relative: str, what: str) -> Path:
    """``relative`` under the workspace, or a clear refusal (``..``, absolute paths and
    symbolic links out of it all resolve outside)."""
    resolved = (workspace / relative).resolve()
    if resolved != workspace and workspace not in resolved.parents:
        raise ValidationFailed(f"scan: '{what}' {relative!r} is outside the run's workspace")
    return resolved


def _write_log(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log_file:
        log_file.write(text)
