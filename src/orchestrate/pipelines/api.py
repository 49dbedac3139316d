"""HTTP routes of pipelines: definitions, runs, approvals and logs (live as SSE)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service
from orchestrate.pipelines.log_view import (
    end_frame,
    follow_run,
    log_text,
    selected_steps,
    sse_frame,
)
from orchestrate.pipelines.schemas import (
    YAML_MEDIA_TYPES,
    DecisionIn,
    PendingApprovalOut,
    PipelineIn,
    PipelineOut,
    PipelineRunOut,
    ProblemOut,
    RerunIn,
    TriggerIn,
)
from orchestrate.web.deps import ActorDep, RuntimeDep, UowDep
from orchestrate.web.schemas import MAX_SEQUENCE, PageCursor, PageLimit, PageOut
from orchestrate.web.streams import TOO_MANY_STREAMS, open_stream

router = APIRouter(tags=["pipelines"])

# Keep-alive comments stop proxies from closing a stream that waits on an approval.
_KEEPALIVE_POLLS = 3  # empty batches come every 5 s: a comment every 15 s
_PIPELINE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": PipelineIn.model_json_schema()},
            "application/yaml": {"schema": {"type": "string", "description": "The YAML file."}},
        },
    },
    "responses": {
        "422": {
            "description": "The file has problems; `problems` lists each with line and column.",
            "content": {
                "application/problem+json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "problems": {"type": "array", "items": ProblemOut.model_json_schema()}
                        },
                    }
                }
            },
        }
    },
}


async def _pipeline_in(request: Request, repo: str | None) -> service.PipelineSource:
    """The file from a YAML body (``?repo=`` names its repository) or JSON ``{"yaml": …}``."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    try:
        if media_type in YAML_MEDIA_TYPES:
            body = PipelineIn(yaml=raw.decode("utf-8"), repo=repo)
        else:
            body = PipelineIn.model_validate_json(raw)
    except UnicodeDecodeError:
        raise ValidationFailed("The YAML body is not UTF-8 text") from None
    except ValidationError as error:
        raise RequestValidationError(error.errors(include_url=False)) from None
    return service.PipelineSource(body.yaml, repo_path=Path(body.repo) if body.repo else None)


@router.get("/pipelines", response_model=PageOut[PipelineOut])
async def list_pipelines(
    uow: UowDep, _actor: ActorDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[PipelineOut]:
    """Registered pipelines, by name."""
    page = await service.pipelines_page(uow, limit=limit, cursor=cursor)
    return PageOut(items=[PipelineOut.of(p) for p in page.items], next_cursor=page.next_cursor)


@router.post(
    "/pipelines",
    response_model=PipelineOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=_PIPELINE_BODY,
)
async def register_pipeline(
    request: Request, uow: UowDep, actor: ActorDep, repo: str | None = None
) -> PipelineOut:
    """Register a pipeline from its YAML, or update the one of that name (a new version)."""
    source = await _pipeline_in(request, repo)
    return PipelineOut.of(await service.register_pipeline(uow, source, actor))


@router.get("/pipelines/{name}", response_model=PipelineOut)
async def get_pipeline(name: str, uow: UowDep, _actor: ActorDep) -> PipelineOut:
    """One pipeline definition, with its YAML as registered."""
    return PipelineOut.of(await service.get_pipeline(uow, name))


@router.put("/pipelines/{name}", response_model=PipelineOut, openapi_extra=_PIPELINE_BODY)
async def update_pipeline(
    name: str, request: Request, uow: UowDep, actor: ActorDep, repo: str | None = None
) -> PipelineOut:
    """Create or update the pipeline ``name``; the file must carry that name (422 otherwise)."""
    source = await _pipeline_in(request, repo)
    return PipelineOut.of(await service.register_pipeline(uow, source, actor, name=name))


@router.delete("/pipelines/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_pipeline(name: str, uow: UowDep, actor: ActorDep) -> Response:
    """Forget a definition; its runs stay."""
    await service.delete_pipeline(uow, name, actor)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/pipelines/{name}/trigger",
    response_model=PipelineRunOut,
    status_code=status.HTTP_201_CREATED,
)
async def trigger_pipeline(
    name: str, uow: UowDep, runtime: RuntimeDep, actor: ActorDep, body: TriggerIn | None = None
) -> PipelineRunOut:
    """Start a run; inputs are checked against the pipeline's ``inputs`` first."""
    request = service.TriggerRequest(name, inputs=body.inputs if body else {})
    return PipelineRunOut.of(await service.trigger_pipeline(uow, runtime.settings, request, actor))


@router.get("/pipeline-runs", response_model=PageOut[PipelineRunOut])
async def list_runs(
    uow: UowDep,
    _actor: ActorDep,
    pipeline: str | None = None,
    run_status: Annotated[service.RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: str | None = None,
) -> PageOut[PipelineRunOut]:
    """Runs, newest first, without their steps."""
    page = await service.list_runs(
        uow, pipeline=pipeline, status=run_status, limit=limit, cursor=cursor
    )
    return PageOut(items=[PipelineRunOut.of(r) for r in page.items], next_cursor=page.next_cursor)


@router.get("/pipeline-runs/{run_id}", response_model=PipelineRunOut)
async def get_run(run_id: str, uow: UowDep, _actor: ActorDep) -> PipelineRunOut:
    """One run with every step, matrix instances after their step."""
    return PipelineRunOut.of(await service.get_run(uow, run_id))


@router.post("/pipeline-runs/{run_id}/cancel", response_model=PipelineRunOut)
async def cancel_run(run_id: str, uow: UowDep, actor: ActorDep) -> PipelineRunOut:
    """Cancel the run; running steps are stopped (their process groups are signalled)."""
    return PipelineRunOut.of(await service.cancel_run(uow, run_id, actor))


@router.post("/pipeline-runs/{run_id}/steps/{step}/cancel", response_model=PipelineRunOut)
async def cancel_step(run_id: str, step: str, uow: UowDep, actor: ActorDep) -> PipelineRunOut:
    """Cancel one step; the run goes on as its dependents' conditions say."""
    return PipelineRunOut.of(await service.cancel_step(uow, run_id, step, actor))


@router.post(
    "/pipeline-runs/{run_id}/rerun",
    response_model=PipelineRunOut,
    status_code=status.HTTP_201_CREATED,
)
async def rerun(
    run_id: str, uow: UowDep, runtime: RuntimeDep, actor: ActorDep, body: RerunIn | None = None
) -> PipelineRunOut:
    """A new run of what ran, with the same inputs; ``failed`` reuses the successful steps."""
    failed_only = body.failed if body else False
    run = await service.rerun(uow, runtime.settings, run_id, actor, failed_only=failed_only)
    return PipelineRunOut.of(run)


@router.post("/pipeline-runs/{run_id}/steps/{step}/approve", response_model=PipelineRunOut)
async def approve(
    run_id: str, step: str, uow: UowDep, actor: ActorDep, body: DecisionIn | None = None
) -> PipelineRunOut:
    """Approve a waiting approval step; only its named approvers may, once each."""
    comment = body.comment if body else None
    return PipelineRunOut.of(
        await service.decide_approval(uow, run_id, step, actor, "approve", comment)
    )


@router.post("/pipeline-runs/{run_id}/steps/{step}/reject", response_model=PipelineRunOut)
async def reject(
    run_id: str, step: str, uow: UowDep, actor: ActorDep, body: DecisionIn | None = None
) -> PipelineRunOut:
    """Reject a waiting approval step: it fails, and the run goes on as conditions say."""
    comment = body.comment if body else None
    return PipelineRunOut.of(
        await service.decide_approval(uow, run_id, step, actor, "reject", comment)
    )


@router.get(
    "/pipeline-runs/{run_id}/logs",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/plain": {}, "text/event-stream": {}},
            "description": "The step logs as text; with `follow=true`, Server-Sent Events "
            "`log`, `status` and a final `end`.",
        },
        **TOO_MANY_STREAMS,
    },
)
async def run_logs(
    request: Request,
    run_id: str,
    uow: UowDep,
    runtime: RuntimeDep,
    actor: ActorDep,
    step: str | None = None,
    follow: bool = False,
    last_event_id: Annotated[int | None, Header(ge=0, le=MAX_SEQUENCE)] = None,
) -> StreamingResponse:
    """The logs of every step (or of ``step``, matrix instances included)."""
    run = await service.get_run(uow, run_id)
    steps = selected_steps(run, step)
    if not follow:
        return StreamingResponse(log_text(steps), media_type="text/plain; charset=utf-8")
    return open_stream(request, actor, _events(runtime, run_id, step, last_event_id or 0))


async def _events(
    runtime: Runtime, run_id: str, step: str | None, after_id: int
) -> AsyncIterator[str]:
    idle_polls = 0
    async for batch in follow_run(runtime, run_id, after_id=after_id):
        idle_polls = 0 if batch else idle_polls + 1
        if idle_polls >= _KEEPALIVE_POLLS:
            idle_polls = 0
            yield ": keep-alive\n\n"
        for event in batch:
            frame = sse_frame(event, step)
            if frame is not None:
                yield frame
    yield end_frame(await service.get_run(runtime.uow(read_only=True), run_id))


@router.get("/approvals", response_model=PageOut[PendingApprovalOut])
async def pending_approvals(
    uow: UowDep, actor: ActorDep, limit: PageLimit = DEFAULT_PAGE_SIZE, cursor: PageCursor = None
) -> PageOut[PendingApprovalOut]:
    """Approval steps waiting on the caller (named as an approver, not yet decided),
    oldest run first."""
    page = await service.pending_approvals_page(uow, actor, limit=limit, cursor=cursor)
    return PageOut(
        items=[PendingApprovalOut.of(p) for p in page.items], next_cursor=page.next_cursor
    )
