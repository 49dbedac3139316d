"""Pipelines: the list, one pipeline (its graph, triggers, runs and a form to start one),
and the YAML editor that creates, checks, saves and deletes definitions.

Every change goes through the same service functions as ``/api/pipelines`` (with the
signed-in person as the actor, so it is audited). A file is saved only when valid;
otherwise the editor comes back with the text as typed and each problem at its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import Form, Query, Request
from starlette.responses import Response

from orchestrate.auth.service import Actor, DashboardSession, Permission
from orchestrate.core.errors import NotFound, PermissionDenied, ValidationFailed
from orchestrate.core.identity import authorize
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.dashboard import pipeline_views as views
from orchestrate.dashboard.actions import done
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep, WriterDep
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.spec import PipelineSpec
from orchestrate.web.deps import RuntimeDep

router = page_router()

PAGE_SIZE = 50
Cursor = Annotated[str | None, Query(max_length=500)]
# The loader refuses files over 1 MiB with a located problem; this only bounds the form.
YamlField = Annotated[str, Form(max_length=2 * 1024 * 1024)]
RepoField = Annotated[str, Form(max_length=1000)]
IntentField = Annotated[str, Form(max_length=10)]

STARTER = """\
name: my-pipeline
description: What this pipeline is for.

inputs:
  who:
    type: string
    default: world

steps:
  - id: hello
    run: echo "hello ${{ inputs.who }}"
"""


def _read(runtime: Runtime) -> UnitOfWork:
    return runtime.uow(read_only=True, urgent=True)


@router.get("/ui/pipelines")
async def pipeline_list(
    request: Request, runtime: RuntimeDep, session: SessionDep, cursor: Cursor = None
) -> Response:
    page = await pipelines.pipelines_page(_read(runtime), limit=PAGE_SIZE, cursor=cursor or None)
    latest = await pipelines.latest_runs(_read(runtime), [p.name for p in page.items])
    specs = {p.name: PipelineSpec.model_validate(p.spec) for p in page.items}
    return render(
        request,
        "pipelines/list.html",
        session,
        page=page,
        latest=latest,
        triggers={name: views.triggers_of(spec, with_manual=False) for name, spec in specs.items()},
        step_counts={name: len(spec.steps) for name, spec in specs.items()},
    )


@router.get("/ui/pipelines/new")
async def new_pipeline(
    request: Request,
    session: SessionDep,
    template: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    _require_writer(session)
    text = pipelines.template_text(template) if template else STARTER
    return _editor(request, session, None, text, repo="")


@router.post("/ui/pipelines/new")
async def create_pipeline(
    request: Request,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    yaml: YamlField,
    repo: RepoField = "",
    intent: IntentField = "save",
) -> Response:
    return await _check_or_save(request, runtime, session, actor, None, yaml, repo, intent)


@router.get("/ui/pipelines/{name}")
async def pipeline_detail(
    request: Request, name: str, runtime: RuntimeDep, session: SessionDep, cursor: Cursor = None
) -> Response:
    return await _detail(request, runtime, session, name, cursor=cursor)


@router.post("/ui/pipelines/{name}/trigger")
async def trigger_pipeline(
    request: Request, name: str, runtime: RuntimeDep, session: SessionDep, actor: WriterDep
) -> Response:
    pipeline = await pipelines.get_pipeline(_read(runtime), name)
    spec = PipelineSpec.model_validate(pipeline.spec)
    form = await request.form()
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    shown, given = views.submitted_inputs(fields, spec)
    trigger = pipelines.TriggerRequest(name, inputs=dict(given))
    try:
        run = await pipelines.trigger_pipeline(
            runtime.uow(urgent=True), runtime.settings, trigger, actor
        )
    except ValidationFailed as error:
        field = str(error.context.get("field", ""))
        errors = (
            {field.removeprefix("inputs."): error.message} if field.startswith("inputs.") else {}
        )
        return await _detail(
            request, runtime, session, name, values=shown, errors=errors, refusal=error.message
        )
    return done(request, f"/ui/runs/{run.id}", f"Started run #{run.number} of {name}.")


@router.get("/ui/pipelines/{name}/edit")
async def edit_pipeline(
    request: Request, name: str, runtime: RuntimeDep, session: SessionDep
) -> Response:
    _require_writer(session)
    pipeline = await pipelines.get_pipeline(_read(runtime), name)
    return _editor(request, session, pipeline.name, pipeline.source, repo=pipeline.repo_path or "")


@router.post("/ui/pipelines/{name}/edit")
async def save_pipeline(
    request: Request,
    name: str,
    runtime: RuntimeDep,
    session: SessionDep,
    actor: WriterDep,
    yaml: YamlField,
    repo: RepoField = "",
    intent: IntentField = "save",
) -> Response:
    await pipelines.get_pipeline(_read(runtime), name)  # an unknown pipeline is a 404
    return await _check_or_save(request, runtime, session, actor, name, yaml, repo, intent)


@router.post("/ui/pipelines/{name}/delete")
async def delete_pipeline(
    request: Request, name: str, runtime: RuntimeDep, actor: WriterDep
) -> Response:
    await pipelines.delete_pipeline(runtime.uow(urgent=True), name, actor)
    return done(request, "/ui/pipelines", f"Deleted the pipeline {name}; its runs stay.")


async def _detail(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    name: str,
    *,
    cursor: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    refusal: str | None = None,
) -> Response:
    """The pipeline page; after a refused trigger, with the form as sent and why (422)."""
    pipeline = await pipelines.get_pipeline(_read(runtime), name)
    spec = await pipelines.pipeline_spec(pipeline)
    runs = await pipelines.list_runs(
        _read(runtime), pipeline=name, limit=PAGE_SIZE, cursor=cursor or None
    )
    dag = views.definition_graph(spec)
    return render(
        request,
        "pipelines/detail.html",
        session,
        status_code=422 if refusal else 200,
        pipeline=pipeline,
        spec=spec,
        runs=runs,
        triggers=views.triggers_of(spec),
        dag=dag,
        dag_description=views.graph_description(dag),
        fields=views.input_fields(spec, values, errors),
        refusal=refusal,
    )


async def _check_or_save(
    request: Request,
    runtime: Runtime,
    session: DashboardSession,
    actor: Actor,
    name: str | None,
    text: str,
    repo: str,
    intent: str,
) -> Response:
    """Check the file; save it (a new version) only when valid and asked to."""
    check = await pipelines.check_pipeline_source(text)
    if not check.is_valid:
        return _editor(request, session, name, text, repo, problems=check.problems, status=422)
    if intent == "check":
        return _editor(request, session, name, text, repo, notes=check.notes, is_checked=True)
    if name is None and check.name is not None and await _exists(runtime, check.name):
        taken = _name_problem(
            text, f"A pipeline named '{check.name}' exists already; edit it instead"
        )
        return _editor(request, session, name, text, repo, problems=[taken], status=409)
    source = pipelines.PipelineSource(text, repo_path=Path(repo.strip()) if repo.strip() else None)
    try:
        saved = await pipelines.register_pipeline(
            runtime.uow(urgent=True), source, actor, name=name
        )
    except pipelines.PipelineInvalid as error:
        return _editor(request, session, name, text, repo, problems=error.problems, status=422)
    except ValidationFailed as error:  # the file renames the pipeline being edited
        problem = _name_problem(text, error.message)
        return _editor(request, session, name, text, repo, problems=[problem], status=422)
    except PermissionDenied as error:  # a file that reads secrets needs an admin
        return _editor(request, session, name, text, repo, refusal=error.message, status=403)
    return done(
        request, f"/ui/pipelines/{saved.name}", f"Saved {saved.name}, version {saved.version}."
    )


def _editor(
    request: Request,
    session: DashboardSession,
    name: str | None,
    text: str,
    repo: str,
    *,
    problems: list[pipelines.SpecProblem] | None = None,
    notes: list[pipelines.SpecProblem] | None = None,
    refusal: str | None = None,
    is_checked: bool = False,
    status: int = 200,
) -> Response:
    return render(
        request,
        "pipelines/edit.html",
        session,
        status_code=status,
        name=name,
        text=text,
        repo=repo,
        problems=problems or [],
        notes=notes or [],
        refusal=refusal,
        is_checked=is_checked,
        templates=pipelines.list_templates() if name is None else [],
    )


async def _exists(runtime: Runtime, name: str) -> bool:
    try:
        await pipelines.get_pipeline(_read(runtime), name)
    except NotFound:
        return False
    return True


def _name_problem(text: str, message: str) -> pipelines.SpecProblem:
    """A problem with the pipeline's name, placed at the ``name:`` line."""
    line = next(
        (n for n, content in enumerate(text.splitlines(), 1) if content.startswith("name:")), 1
    )
    return pipelines.SpecProblem("<string>", line, 1, message)


def _require_writer(session: DashboardSession) -> None:
    """The editor is for people who may save: a viewer gets a 403 page, not a form."""
    authorize(session.actor, Permission.WRITE)
