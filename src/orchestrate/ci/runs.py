"""The runs of CI platforms: list, show, logs, trigger, rerun, cancel, wait — across
providers.

Each use case resolves its *target* (which provider, which repository: named by the
caller, else ``ORCHESTRATE_CI_PROVIDER`` / ``ORCHESTRATE_CI_REPOSITORY``), opens that
provider with its token from the secret store, and closes it when done. Nothing is
stored: the platform is the record of its runs. Triggering, re-running and cancelling
need the write permission and leave an audit record.

A poller (the ``ci:`` pipeline step) calls ``trigger`` once and then ``get_run`` or
``wait_for`` until the run is completed, and ``cancel`` when it stops waiting early.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from orchestrate.auth import service as auth
from orchestrate.ci.models import TestResult
from orchestrate.ci.providers import (
    CiJob,
    CiNotFound,
    CiProvider,
    CiRun,
    ProviderName,
    RunFilter,
    RunStatus,
    TriggerRequest,
)
from orchestrate.ci.providers.factory import open_provider, provider_name
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.identity import Actor, Permission, authorize
from orchestrate.core.pagination import KeyCursor, Page, check_page_size
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork

MAX_INPUTS = 50
MAX_INPUT_CHARS = 10_000


@dataclass(frozen=True)
class CiTarget:
    """Which platform and which repository (GitHub owner/name, GitLab group/project,
    CircleCI gh/org/repo)."""

    provider: ProviderName
    repository: str


@dataclass(frozen=True)
class RunDetails:
    run: CiRun
    jobs: list[CiJob]


@dataclass(frozen=True)
class Trigger:
    workflow: str
    ref: str
    inputs: Mapping[str, str] = field(default_factory=dict)


def resolve_target(settings: Settings, provider: str | None, repository: str | None) -> CiTarget:
    """The caller's choice, else the settings'; a missing repository is refused."""
    name = provider_name(provider, settings)
    chosen = (repository or settings.ci_repository or "").strip()
    if not chosen:
        raise ValidationFailed(
            "Which repository? Pass --repo (API: repo=) or set ORCHESTRATE_CI_REPOSITORY",
            field="repo",
        )
    return CiTarget(name, chosen)


def parse_inputs(pairs: list[str]) -> dict[str, str]:
    """``key=value`` pairs (``--input``) as a mapping; a pair without ``=`` is refused."""
    inputs: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValidationFailed(f"An input is key=value, not {pair[:80]!r}", field="input")
        inputs[key.strip()] = value
    return check_inputs(inputs)


def check_inputs(inputs: Mapping[str, str]) -> dict[str, str]:
    if len(inputs) > MAX_INPUTS:
        raise ValidationFailed(f"At most {MAX_INPUTS} inputs", field="inputs")
    for key, value in inputs.items():
        if not key or len(key) > 200 or len(value) > MAX_INPUT_CHARS:
            raise ValidationFailed(f"Input {key[:80]!r} is empty or too long", field="inputs")
    return dict(inputs)


@asynccontextmanager
async def _opened(
    uow: UnitOfWork, settings: Settings, target: CiTarget
) -> AsyncIterator[CiProvider]:
    provider = await open_provider(uow, settings, target.provider)
    try:
        yield provider
    finally:
        await provider.aclose()


async def list_runs(
    uow: UnitOfWork,
    settings: Settings,
    target: CiTarget,
    filters: RunFilter,
    *,
    limit: int = 20,
    cursor: str | None = None,
) -> Page[CiRun]:
    """One page of the target's runs, newest first; ``cursor`` continues a listing."""
    check_page_size(limit)
    page = KeyCursor.decode(cursor).key if cursor else None
    async with _opened(uow, settings, target) as provider:
        found = await provider.list_runs(target.repository, filters, page=page, limit=limit)
    next_cursor = KeyCursor(found.next_page).encode() if found.next_page else None
    return Page(items=found.runs, next_cursor=next_cursor)


async def get_run(
    uow: UnitOfWork,
    settings: Settings,
    target: CiTarget,
    run_id: str,
    *,
    attempt: int | None = None,
) -> CiRun:
    async with _opened(uow, settings, target) as provider:
        return await provider.get_run(target.repository, run_id, attempt=attempt)


async def show_run(
    uow: UnitOfWork,
    settings: Settings,
    target: CiTarget,
    run_id: str,
    *,
    attempt: int | None = None,
) -> RunDetails:
    """A run and its jobs (of ``attempt``, else of the latest attempt)."""
    async with _opened(uow, settings, target) as provider:
        run = await provider.get_run(target.repository, run_id, attempt=attempt)
        jobs = await provider.list_jobs(target.repository, run_id, attempt=attempt)
    return RunDetails(run, jobs)


async def run_logs(
    uow: UnitOfWork, settings: Settings, target: CiTarget, run_id: str, *, job: str | None = None
) -> str:
    """The log of one job of the run (``job``: its id or name), else of every job, each
    after a ``==> name (id) <==`` heading."""
    async with _opened(uow, settings, target) as provider:
        if job is not None:
            chosen = await _job_named(provider, target, run_id, job)
            return await provider.job_log(target.repository, chosen.id)
        parts = []
        for item in await provider.list_jobs(target.repository, run_id):
            log = await provider.job_log(target.repository, item.id)
            parts.append(f"==> {item.name} ({item.id}) <==\n{log}")
        return "\n".join(parts)


async def test_results(
    uow: UnitOfWork, settings: Settings, target: CiTarget, run_id: str
) -> list[TestResult]:
    """The run's per-test results from the platform's own test report (GitLab's pipeline
    test report, CircleCI's test metadata); GitHub has none (parse its logs instead)."""
    async with _opened(uow, settings, target) as provider:
        return await provider.test_results(target.repository, run_id)


async def trigger(
    uow: UnitOfWork, settings: Settings, target: CiTarget, request: Trigger, actor: Actor
) -> CiRun:
    """Start ``request.workflow`` on ``request.ref``; the run it started."""
    authorize(actor, Permission.WRITE)
    if not request.ref.strip():
        raise ValidationFailed("Which ref? A branch or tag to run on", field="ref")
    inputs = check_inputs(request.inputs)
    async with _opened(uow, settings, target) as provider:
        run = await provider.trigger(
            target.repository, TriggerRequest(request.workflow, request.ref, inputs)
        )
    details: dict[str, object] = {
        "provider": target.provider.value,
        "workflow": request.workflow,
        "ref": request.ref,
        "inputs": sorted(inputs),  # names only: values may be sensitive
        "run_id": run.id,
    }
    await _audit(uow, actor, "ci.trigger", target, details)
    return run


async def rerun(
    uow: UnitOfWork,
    settings: Settings,
    target: CiTarget,
    run_id: str,
    actor: Actor,
    *,
    failed_only: bool = False,
    job: str | None = None,
) -> CiRun:
    """Run it again: every job, only the failed ones, or one ``job`` (its id or name);
    the run as it now stands (its attempt counted up; on CircleCI the new workflow)."""
    authorize(actor, Permission.WRITE)
    async with _opened(uow, settings, target) as provider:
        if job is None:
            run = await provider.rerun(target.repository, run_id, failed_only=failed_only)
        else:
            chosen = await _job_named(provider, target, run_id, job)
            run = await provider.rerun_job(target.repository, chosen.id)
    details: dict[str, object] = {
        "provider": target.provider.value,
        "run_id": run_id,
        "failed_only": failed_only,
        "job": job,
    }
    await _audit(uow, actor, "ci.rerun", target, details)
    return run


async def cancel(
    uow: UnitOfWork, settings: Settings, target: CiTarget, run_id: str, actor: Actor
) -> CiRun:
    """Stop the run; the run as it then stands (platforms stop runs asynchronously, so it
    may still read ``in_progress``). A run that had already finished is returned as it
    ended, without error: asking twice, or too late, is harmless."""
    authorize(actor, Permission.WRITE)
    async with _opened(uow, settings, target) as provider:
        run = await provider.cancel(target.repository, run_id)
    details: dict[str, object] = {
        "provider": target.provider.value,
        "run_id": run_id,
        "status": run.status.value,
        "conclusion": run.conclusion.value if run.conclusion else None,
    }
    await _audit(uow, actor, "ci.cancel", target, details)
    return run


async def _job_named(provider: CiProvider, target: CiTarget, run_id: str, job: str) -> CiJob:
    jobs = await provider.list_jobs(target.repository, run_id)
    for item in jobs:
        if job in (item.id, item.name):
            return item
    known = ", ".join(f"{j.name} ({j.id})" for j in jobs) or "none"
    raise CiNotFound(f"Run {run_id} has no job {job!r}; its jobs: {known}", run_id=run_id, job=job)


async def wait_for(
    uow: UnitOfWork,
    settings: Settings,
    target: CiTarget,
    run: CiRun,
    *,
    timeout: float,  # noqa: ASYNC109 - a deadline for polling, not for one await
    poll: float = 5.0,
) -> CiRun:
    """Poll until ``run`` is completed, or ``timeout`` seconds passed: the last state seen
    either way (the caller checks ``is_completed``)."""
    deadline = time.monotonic() + timeout
    current = run
    async with _opened(uow, settings, target) as provider:
        while current.status is not RunStatus.COMPLETED:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            await asyncio.sleep(min(poll, left))
            current = await provider.get_run(target.repository, current.id)
    return current


async def _audit(
    uow: UnitOfWork, actor: Actor, action: str, target: CiTarget, details: dict[str, object]
) -> None:
    async with uow:
        await auth.record_audit(uow, actor, action, target.repository, details)
        await uow.commit()
