"""``orchestrate events …``: tail the event log, follow it live, see its consumers."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Annotated

import typer

from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.events import Event
from orchestrate.core.runtime import Runtime
from orchestrate.timeline import service

events_app = typer.Typer(
    help="Read the event log: tail it, follow it live, see its consumers.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="One JSON object per line.")]


@events_app.command("tail")
def tail(
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing events as they happen.")
    ] = False,
    types: Annotated[
        list[str] | None,
        typer.Option("--type", "-t", help="Only this type, or prefix as 'pipeline.*'; repeatable."),
    ] = None,
    subject: Annotated[
        str | None, typer.Option("--subject", "-s", help="Only events about this id.")
    ] = None,
    after: Annotated[
        int | None,
        typer.Option("--after", min=0, help="Start after the event with this id."),
    ] = None,
    lines: Annotated[
        int,
        typer.Option("--lines", "-n", min=1, max=500, help="Without --after: the last N events."),
    ] = 20,
    json_output: JsonOption = False,
) -> None:
    """Print the last events (or those after --after), one line each; --follow keeps going.

    Ctrl+C stops following.
    """
    only = service.EventFilter(types=tuple(types or ()), subject=subject)

    async def work(runtime: Runtime) -> None:
        if after is None:
            recent = await service.recent_events(
                runtime.uow(read_only=True), only=only, limit=lines
            )
            _print(recent, json_output)
            if not follow:
                return
            cursor = recent[-1].id if recent else None
            if cursor is None:
                cursor = await service.start_of_new_events(runtime.uow(read_only=True))
        else:
            cursor = after
        await _print_after(runtime, cursor, only, json_output, follow=follow)

    try:
        run_with_runtime(work)
    except KeyboardInterrupt:
        return  # Ctrl+C is how one stops following: not a failure


async def _print_after(
    runtime: Runtime, cursor: int, only: service.EventFilter, as_json: bool, *, follow: bool
) -> None:
    if not follow:
        while True:
            page = await service.list_events(
                runtime.uow(read_only=True), after=cursor, only=only, limit=500
            )
            _print(page.items, as_json)
            if page.next_cursor is None:
                return
            cursor = page.items[-1].id
    async for batch in service.follow_events(runtime, cursor, only):
        _print(batch, as_json)


def _print(events: list[Event], as_json: bool) -> None:
    for event in events:
        if as_json:
            line = json.dumps(event.as_json(), separators=(",", ":"), default=str)
        else:
            at = event.created_at.strftime("%Y-%m-%d %H:%M:%S")
            payload = json.dumps(event.payload, separators=(",", ":"), default=str)
            line = f"{at}  {event.id:>8}  {event.type:<32} {event.subject}  {payload}"
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


@events_app.command("forget-consumer")
def forget_consumer(
    name: Annotated[str, typer.Argument(help="Its name, as `events consumers` lists it.")],
) -> None:
    """Drop a durable consumer's cursor, so it stops holding back event pruning.

    For a consumer that no longer exists in the code (removed or renamed); refused while a
    worker runs it.
    """
    forgotten = run_with_runtime(lambda rt: service.forget_consumer(rt.uow(), name))
    say(
        f"Forgot event consumer '{forgotten.name}' (it was at event {forgotten.cursor}, "
        f"{forgotten.lag} behind)."
    )


@events_app.command("consumers")
def consumers(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the durable consumers: where each is in the log and how far behind it is."""
    statuses = run_with_runtime(lambda rt: service.list_consumers(rt.uow(read_only=True)))
    if json_output:
        print_json([asdict(status) for status in statuses])
        return
    print_table(
        ["name", "cursor", "lag", "runs on", "failures", "last error", "updated"],
        (
            (s.name, s.cursor, s.lag, s.lease_owner, s.failures, s.last_error, s.updated_at)
            for s in statuses
        ),
    )
