"""``orchestrate schedule …``: create, inspect, pause, resume, delete and fire cron schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines.service import parse_assignments
from orchestrate.schedules import service
from orchestrate.schedules.cron import TEMPLATES, MisfirePolicy
from orchestrate.schedules.schemas import ScheduleFireOut, ScheduleOut

schedule_app = typer.Typer(
    help="Cron schedules that start pipelines and agents.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NameArgument = Annotated[str, typer.Argument(help="The schedule's name (or its sched_… id).")]


@schedule_app.command("create")
def create(
    name: NameArgument,
    cron: Annotated[str | None, typer.Option(help="Five-field cron, or @daily etc.")] = None,
    template: Annotated[
        str | None, typer.Option(help=f"Instead of --cron: {', '.join(TEMPLATES)}.")
    ] = None,
    timezone: Annotated[str, typer.Option(help="IANA time zone the cron is read in.")] = "UTC",
    pipeline: Annotated[str | None, typer.Option(help="The pipeline to run.")] = None,
    inputs: Annotated[
        list[str] | None, typer.Option("--input", help="Pipeline input NAME=VALUE (repeatable).")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="The agent type to start.")] = None,
    task: Annotated[str | None, typer.Option(help="The agent's task.")] = None,
    misfire: Annotated[
        MisfirePolicy, typer.Option(help="After downtime: fire none, the latest, or all missed.")
    ] = MisfirePolicy.LATEST,
    misfire_cap: Annotated[
        int, typer.Option(min=1, max=1000, help="At most this many with --misfire all.")
    ] = 10,
    overlap: Annotated[
        service.OverlapPolicy, typer.Option(help="While the previous run is still going.")
    ] = service.OverlapPolicy.SKIP,
    json_output: JsonOption = False,
) -> None:
    """Create a schedule that runs a pipeline (--pipeline) or starts an agent (--agent)."""

    async def work(runtime: Runtime) -> service.Schedule:
        request = service.NewSchedule(
            name=name,
            cron=cron,
            template=template,
            timezone=timezone,
            pipeline=pipeline,
            inputs=dict(parse_assignments(inputs or [])),
            agent_type=agent,
            task=task,
            misfire_policy=misfire,
            misfire_cap=misfire_cap,
            overlap_policy=overlap,
            source="cli",
        )
        return await service.create_schedule(
            runtime.uow(), runtime.settings, request, Actor.local_cli()
        )

    created = ScheduleOut.of(run_with_runtime(work))
    if json_output:
        print_json(created)
        return
    say(f"Schedule {created.name} ({created.description}) next fires {created.next_fire_at}.")


@schedule_app.command("list")
def list_schedules(json_output: JsonOption = False) -> None:
    """List schedules with their next fire time (UTC)."""
    found = [
        ScheduleOut.of(s)
        for s in run_with_runtime(lambda rt: service.list_schedules(rt.uow(read_only=True)))
    ]
    if json_output:
        print_json(found)
        return
    print_table(
        ["name", "cron", "timezone", "target", "next fire (UTC)", "paused", "source"],
        (
            (s.name, s.cron, s.timezone, s.pipeline or s.agent, s.next_fire_at, s.paused, s.source)
            for s in found
        ),
    )


@schedule_app.command("show")
def show(name: NameArgument, json_output: JsonOption = False) -> None:
    """Show a schedule and its next five fire times, in its zone and in UTC."""
    found = ScheduleOut.of(
        run_with_runtime(lambda rt: service.get_schedule(rt.uow(read_only=True), name))
    )
    if json_output:
        print_json(found)
        return
    zone = ZoneInfo(found.timezone)
    print_fields(
        [
            ("id", found.id),
            ("cron", f"{found.cron} ({found.description})"),
            ("target", f"{found.target.value} {found.pipeline or found.agent}"),
            (
                "inputs" if found.pipeline else "task",
                found.inputs if found.pipeline else found.task,
            ),
            ("misfire", f"{found.misfire.value} (cap {found.misfire_cap})"),
            ("overlap", found.overlap.value),
            ("paused", found.paused),
            ("source", found.source),
            ("last fired", found.last_fired_at),
        ],
        title=found.name,
    )
    print_table(
        [f"next fire ({found.timezone})", "UTC"],
        ((_local(moment, zone), moment.isoformat()) for moment in found.upcoming),
    )


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


@schedule_app.command("pause")
def pause(name: NameArgument) -> None:
    """Stop firing until resumed."""
    run_with_runtime(
        lambda rt: service.set_paused(rt.uow(), name, Actor.local_cli(), is_paused=True)
    )
    say(f"Schedule {name} is paused.")


@schedule_app.command("resume")
def resume(name: NameArgument) -> None:
    """Fire again from the next fire time after now (paused time is not caught up)."""
    resumed = run_with_runtime(
        lambda rt: service.set_paused(rt.uow(), name, Actor.local_cli(), is_paused=False)
    )
    say(f"Schedule {name} is resumed; next fire {resumed.next_fire_at}.")


@schedule_app.command("delete")
def delete(name: NameArgument) -> None:
    """Delete a schedule and its fire history (the runs it started stay)."""
    run_with_runtime(lambda rt: service.delete_schedule(rt.uow(), name, Actor.local_cli()))
    say(f"Schedule {name} is deleted.")


@schedule_app.command("trigger")
def trigger(name: NameArgument, json_output: JsonOption = False) -> None:
    """Fire now; a worker runs what it starts."""
    fire = ScheduleFireOut.of(
        run_with_runtime(
            lambda rt: service.trigger_now(rt.uow(), rt.settings, name, Actor.local_cli())
        )
    )
    if json_output:
        print_json(fire)
    elif fire.outcome is service.FireOutcome.FAILED:
        say(f"Schedule {name} fired but could not start: {fire.reason}")
    else:
        say(f"Schedule {name} fired ({fire.id}): {fire.run_id or 'agent starting'}.")
    if fire.outcome is service.FireOutcome.FAILED:
        raise typer.Exit(1)


@schedule_app.command("runs")
def runs(
    name: NameArgument,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOption = False,
) -> None:
    """The schedule's fires, newest first, with the run or agent each started."""
    found = [
        ScheduleFireOut.of(f)
        for f in run_with_runtime(
            lambda rt: service.list_fires(rt.uow(read_only=True), name, limit=limit)
        ).items
    ]
    if json_output:
        print_json(found)
        return
    print_table(
        ["fire time (UTC)", "outcome", "run / agent", "manual", "reason"],
        ((f.fire_time, f.outcome.value, f.run_id or f.agent_id, f.manual, f.reason) for f in found),
    )
