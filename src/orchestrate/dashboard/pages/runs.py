"""Pipeline runs: the list (by pipeline and status), one run (its step graph, every
step's state, outputs, attempts and log), and what a person does to a run: approve or
reject a waiting step, cancel the run or a step, run it again (all of it, or what
failed).

The run page stays current through ``static/logs.js``: one stream
(``/ui/runs/{id}/logs``, ``pages/run_logs.py``) brings the steps' new log lines and
says when a run or step changed, and the script then refetches the part of the page
that shows their states (``/ui/runs/{id}/state``). Every action calls the same service
function as its ``/api/pipeline-runs`` route, with the signed-in person as the actor.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import Response

from orchestrate.auth.service import DashboardSession
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard import pipeline_views as views
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.pipelines import service as pipelines
from orchestrate.timeline import service as timeline
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
Filter = Annotated[str | None, Query(max_length=200)]
StepField = Annotated[str, Form(min_length=1, max_length=300)]
CommentField = Annotated[str, Form(max_length=10_000)]


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/runs")
async def run_list(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    pipeline: Filter = None,
    status: Filter = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    page = await pipelines.list_runs(
        _read(runtime),
        pipeline=pipeline or None,
        status=_status(status),
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return render(
        request,
        "runs/list.html",
        session,
        page=page,
        statuses=[s.value for s in pipelines.RunStatus],
    )


@router.get("/ui/runs/{run_id}")
async def run_detail(
    request: Request, run_id: str, runtime: RuntimeDep, session: SessionDep
) -> Response:
    # Read before the run: the page's stream starts after this event, so nothing that
    # happens while the page is built is lost (the logs are read by byte offset).
    after = await timeline.start_of_new_events(_read(runtime))
    detail = await pipelines.get_run_detail(_read(runtime), run_id)
    return _page(request, session, "runs/detail.html", detail, after=after, with_logs=True)


@router.get("/ui/runs/{run_id}/state")
async def run_state(
    request: Request, run_id: str, runtime: RuntimeDep, session: SessionDep
) -> Response:
    """The part of the run page that shows states, for ``logs.js`` to swap in."""
    detail = await pipelines.get_run_detail(_read(runtime), run_id)
    return _page(request, session, "runs/state.html", detail, after=0, with_logs=False)


@router.post("/ui/runs/{run_id}/cancel")
async def cancel_run(
    request: Request, run_id: str, runtime: RuntimeDep, actor: WriterDep
) -> Response:
    run = await pipelines.cancel_run(runtime.uow(urgent=True), run_id, actor)
    message = (
        "Cancelled."
        if run.status.is_terminal
        else "Cancelling: its running steps are being stopped."
    )
    return done(request, f"/ui/runs/{run_id}", message)


@router.post("/ui/runs/{run_id}/rerun")
async def rerun(
    request: Request,
    run_id: str,
    runtime: RuntimeDep,
    actor: WriterDep,
    failed: Annotated[bool, Form()] = False,
) -> Response:
    run = await pipelines.rerun(
        runtime.uow(urgent=True), runtime.settings, run_id, actor, failed_only=failed
    )
    what = "the failed steps of " if failed else ""
    return done(request, f"/ui/runs/{run.id}", f"Re-running {what}run {run_id} as #{run.number}.")


@router.post("/ui/runs/{run_id}/approve")
async def approve(
    request: Request,
    run_id: str,
    runtime: RuntimeDep,
    actor: WriterDep,
    step: StepField,
    comment: CommentField = "",
) -> Response:
    await pipelines.decide_approval(
        runtime.uow(urgent=True), run_id, step, actor, "approve", comment or None
    )
    return done(request, f"/ui/runs/{run_id}", f"Approved {step}.")


@router.post("/ui/runs/{run_id}/reject")
async def reject(
    request: Request,
    run_id: str,
    runtime: RuntimeDep,
    actor: WriterDep,
    step: StepField,
    comment: CommentField = "",
) -> Response:
    await pipelines.decide_approval(
        runtime.uow(urgent=True), run_id, step, actor, "reject", comment or None
    )
    return done(request, f"/ui/runs/{run_id}", f"Rejected {step}.")


@router.post("/ui/runs/{run_id}/cancel-step")
async def cancel_step(
    request: Request, run_id: str, runtime: RuntimeDep, actor: WriterDep, step: StepField
) -> Response:
    await pipelines.cancel_step(runtime.uow(urgent=True), run_id, step, actor)
    return done(request, f"/ui/runs/{run_id}", f"Cancelling step {step}.")


def _page(
    request: Request,
    session: DashboardSession,
    template: str,
    detail: pipelines.RunDetail,
    *,
    after: int,
    with_logs: bool,
) -> Response:
    run = detail.run
    anchors = views.step_anchors(run.steps)
    dag = views.run_graph(detail, anchors)
    logs = {
        step.key: pipelines.read_log_tail(step.log_path, whole_lines=not step.status.is_terminal)
        for step in run.steps
        if with_logs and step.kind in views.LOGGED_KINDS
    }
    return render(
        request,
        template,
        session,
        run=run,
        anchors=anchors,
        dag=dag,
        dag_description=views.graph_description(dag),
        deciders={
            step.key for step in run.steps if pipelines.may_decide(detail.spec, step, session.actor)
        },
        approvers=views.waiting_approvers(detail),
        logs=logs,
        logged_kinds=views.LOGGED_KINDS,
        after=after,
        can_rerun_failed=run.status in (pipelines.RunStatus.FAILURE, pipelines.RunStatus.CANCELLED),
    )


def _status(value: str | None) -> pipelines.RunStatus | None:
    if not value:
        return None
    try:
        return pipelines.RunStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in pipelines.RunStatus)
        raise ValidationFailed(f"Unknown run status {value!r}; one of {allowed}") from None
