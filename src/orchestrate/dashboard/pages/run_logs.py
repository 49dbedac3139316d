"""A run's step logs: streamed live to its page, and read page by page.

``/ui/runs/{id}/logs`` is what ``/api/pipeline-runs/{id}/logs?follow=true`` is to the
API, for a signed-in browser (an ``EventSource`` cannot send a bearer token): Server-
Sent Events of the steps' new log text, a ``changed`` event when a run or step changes
status (the page then refetches its states), and ``end`` once the run is over. The page
says how far it already has each step's log (``step``/``offset`` pairs, in bytes of the
log file) and which event it was built after (``after``); ``static/logs.js`` reconnects
with the offsets it has reached, so a dropped connection neither repeats nor loses a line.

``/ui/runs/{id}/log?step=KEY`` shows one step's log a window at a time (the tail first,
then earlier or later pages), so a log of any length stays fast.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Query, Request
from starlette.responses import Response

from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.dashboard import pipeline_views as views
from orchestrate.dashboard.render import render
from orchestrate.dashboard.routing import page_router
from orchestrate.dashboard.session import SessionDep
from orchestrate.pipelines import service as pipelines
from orchestrate.web.deps import RuntimeDep
from orchestrate.web.schemas import MAX_SEQUENCE
from orchestrate.web.streams import open_stream

router = page_router()

MAX_STEPS = 1000
Offset = Annotated[int | None, Query(ge=0, le=2**62)]


@router.get("/ui/runs/{run_id}/logs")
async def log_stream(
    request: Request,
    run_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQUENCE)] = 0,
    step: Annotated[list[str] | None, Query(max_length=MAX_STEPS)] = None,
    offset: Annotated[list[int] | None, Query(max_length=MAX_STEPS)] = None,
) -> Response:
    steps, offsets = step or [], offset or []
    if len(steps) != len(offsets):
        raise ValidationFailed("Give one offset for each step: step=KEY&offset=BYTES, in pairs")
    await pipelines.get_run(runtime.uow(read_only=True, urgent=True), run_id)  # 404 first
    held = dict(zip(steps, offsets, strict=True))
    return open_stream(request, session.actor, _frames(runtime, run_id, held, after))


async def _frames(
    runtime: Runtime, run_id: str, offsets: dict[str, int], after: int
) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"
    async for update in pipelines.follow_step_logs(runtime, run_id, offsets, after_id=after):
        frames = [_frame("log", _piece(piece)) for piece in update.pieces]
        if update.changed:
            frames.append(_frame("changed", {"after": update.last_event_id}))
        yield "".join(frames) or ": keep-alive\n\n"
    run = await pipelines.get_run(runtime.uow(read_only=True), run_id)
    yield _frame("end", {"status": run.status.value})


def _piece(piece: pipelines.LogPiece) -> dict[str, object]:
    return {"step": piece.step, "start": piece.start, "end": piece.end, "text": piece.text}


def _frame(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@router.get("/ui/runs/{run_id}/log")
async def step_log(
    request: Request,
    run_id: str,
    runtime: RuntimeDep,
    session: SessionDep,
    step: Annotated[str, Query(min_length=1, max_length=300)],
    before: Offset = None,
    start: Offset = None,
) -> Response:
    """One window of a step's log: the tail, or the page ending ``before`` or starting
    at ``start`` (offsets in bytes, as the page's links give them)."""
    run = await pipelines.get_run(runtime.uow(read_only=True, urgent=True), run_id)
    chosen = next((s for s in run.steps if s.key == step), None)
    if chosen is None:
        keys = ", ".join(s.key for s in run.steps)
        raise NotFound(f"Run {run_id} has no step '{step}' (steps: {keys})")
    if start is not None:
        window = pipelines.read_log_from(chosen.log_path, start)
    else:
        window = pipelines.read_log_tail(chosen.log_path, before=before)
    anchor = views.step_anchors(run.steps)[chosen.key]
    return render(
        request, "runs/log.html", session, run=run, step=chosen, window=window, anchor=anchor
    )
