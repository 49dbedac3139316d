"""``orchestrate epic run|pause|resume|stop|status``: autonomous epic runs.

These commands join the ``epic`` group of the stories capability when it loads (the
composition root lists them as an extension of ``epic``), so stories, a lower layer,
never imports this capability. ``epic run`` starts the run and returns: workers
(``orchestrate serve`` or ``orchestrate worker``) drive it; ``epic status --follow``
shows it live.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.autonomy import service
from orchestrate.autonomy.schemas import EpicRunOut
from orchestrate.cli.output import print_fields, print_json, print_table, say, say_styled
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime

epic_run_app = typer.Typer(help="Run epics autonomously.", no_args_is_help=True)

EpicRef = Annotated[str, typer.Argument(help="An epic id or BMAD key such as 1.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_FOLLOW_SECONDS = 1.0


@epic_run_app.command("run")
def run_epic(
    ref: EpicRef,
    repo: Annotated[
        str | None,
        typer.Option(
            "--repo", help="The registered repository to work in (needed when several are)."
        ),
    ] = None,
    stuck_minutes: Annotated[
        int | None,
        typer.Option(
            "--stuck-minutes",
            help="Block a story when nothing moved on it for this long "
            "(default: ORCHESTRATE_EPIC_RUN_STUCK_MINUTES, 60).",
        ),
    ] = None,
    max_attempts: Annotated[
        int | None,
        typer.Option(
            "--max-attempts",
            help="Developer agents per story before it is blocked "
            "(default: ORCHESTRATE_EPIC_RUN_MAX_ATTEMPTS, 3).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Drive every story of an epic: developer, pull request, review, merge, next story."""
    view = run_with_runtime(
        lambda rt: service.start_epic_run(
            rt.uow(),
            rt.settings,
            ref,
            Actor.local_cli(),
            repository=repo,
            stuck_minutes=stuck_minutes,
            max_attempts=max_attempts,
        )
    )
    out = EpicRunOut.of(view)
    if json_output:
        print_json(out)
        return
    print(out.id, flush=True)
    name = out.epic_key or out.epic_id
    say(
        f"Started run {out.id} of epic {name} ({len(out.stories)} stories, repository "
        f"{out.repository}). A worker drives it (orchestrate serve or orchestrate worker); "
        f"follow it with: orchestrate epic status {name} --follow"
    )


@epic_run_app.command("pause")
def pause(ref: EpicRef) -> None:
    """Pause an epic's run: no new agent starts; running ones finish."""
    view = run_with_runtime(lambda rt: service.pause_epic_run(rt.uow(), ref, Actor.local_cli()))
    say(f"Run {view.run.id} is {view.run.status.value}.")


@epic_run_app.command("resume")
def resume(ref: EpicRef) -> None:
    """Resume an epic's paused run."""
    view = run_with_runtime(lambda rt: service.resume_epic_run(rt.uow(), ref, Actor.local_cli()))
    say(f"Run {view.run.id} is {view.run.status.value}.")


@epic_run_app.command("stop")
def stop(ref: EpicRef) -> None:
    """Stop an epic's run and cancel its running agents."""
    view = run_with_runtime(lambda rt: service.stop_epic_run(rt.uow(), ref, Actor.local_cli()))
    say(f"Run {view.run.id} is {view.run.status.value}.")


@epic_run_app.command("status")
def status(
    ref: EpicRef,
    follow: Annotated[
        bool,
        typer.Option("--follow", "-f", help="Show it again on every change until the run ends."),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show an epic's run: each story's phase, agent, pull request, review, what it waits for."""
    if not follow:
        out = EpicRunOut.of(
            run_with_runtime(lambda rt: service.get_epic_run(rt.uow(read_only=True), ref))
        )
        print_json(out) if json_output else render(out)
        return
    try:
        run_with_runtime(lambda rt: _follow(rt, ref, json_output))
    except KeyboardInterrupt:
        say("Stopped following; the run goes on.")


async def _follow(runtime: Runtime, ref: str, json_output: bool) -> None:
    shown: str | None = None
    while True:
        out = EpicRunOut.of(await service.get_epic_run(runtime.uow(read_only=True), ref))
        state = out.model_dump_json(exclude={"updated_at"})
        if state != shown:
            shown = state
            print_json(out) if json_output else render(out)
        if out.status not in (service.EpicRunStatus.RUNNING, service.EpicRunStatus.PAUSED):
            return
        await asyncio.sleep(_FOLLOW_SECONDS)


def render(out: EpicRunOut) -> None:
    print_fields(
        [
            ("run", out.id),
            ("status", out.status.value),
            ("repository", out.repository),
            ("started by", out.started_by),
            ("stuck after", f"{out.stuck_minutes} min, {out.max_attempts} attempts"),
            ("reason", out.reason),
            ("finished", out.finished_at),
        ],
        title=f"Epic {out.epic_key or out.epic_id}: {out.epic_title}",
    )
    keys = {s.story_id: s.key or s.story_id for s in out.stories}
    print_table(
        ["story", "title", "status", "phase", "agent", "pull request", "review", "waiting for"],
        (
            (
                s.key or s.story_id,
                s.title,
                s.story_status.value if s.story_status else "deleted",
                s.phase.value,
                f"{s.agent_id} ({s.agent_state})" if s.agent_id else None,
                s.pull_request.url if s.pull_request else None,
                s.review_verdict,
                _waiting(
                    s.blocked_reason, s.waiting_for, s.note, [keys.get(d, d) for d in s.depends_on]
                ),
            )
            for s in out.stories
        ),
    )
    if out.status.value not in ("running", "paused"):
        say_styled("[dim]The run ended: {status}.[/dim]", status=out.status.value)


def _waiting(
    blocked: str | None, waiting: str | None, note: str | None, depends_on: list[str]
) -> str | None:
    if blocked:
        return f"blocked: {blocked}"
    if waiting:
        return waiting
    if note:
        return note
    return f"after {', '.join(depends_on)}" if depends_on else None
