"""``orchestrate changeset …``: create, list, show, status and cancel change sets."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.changesets import service
from orchestrate.changesets.schemas import ChangeSetOut, ChangeSetStatusOut
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime

changeset_app = typer.Typer(
    help="Change sets: one change across repositories, merged in dependency order.",
    no_args_is_help=True,
)

IdArgument = Annotated[str, typer.Argument(help="The change set's id (cs_…).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_LIST_LIMIT = 500


@changeset_app.command("create")
def create(
    title: Annotated[str, typer.Option("--title", help="What the change is.")],
    agents: Annotated[
        list[str] | None,
        typer.Option(
            "--agent",
            help="A completed agent run whose branch is the change in its repository "
            "(repeat, one per repository).",
        ),
    ] = None,
    pull_requests: Annotated[
        list[str] | None,
        typer.Option("--pr", help="A pull request Orchestrate opened, OWNER/NAME#NUMBER (repeat)."),
    ] = None,
    description: Annotated[str, typer.Option("--description", help="More words.")] = "",
    json_output: JsonOption = False,
) -> None:
    """Record a change set; its pull requests are opened dependencies first, then merged
    in that order as each repository's merge policy allows (a worker does both)."""
    created = run_with_runtime(
        lambda rt: service.create_change_set(
            rt.uow(),
            rt.settings,
            service.NewChangeSet(
                title=title,
                description=description,
                agent_ids=tuple(agents or ()),
                pull_requests=tuple(pull_requests or ()),
            ),
            Actor.local_cli(),
        )
    )
    out = ChangeSetOut.of(created)
    if json_output:
        print_json(out)
        return
    print(out.id, flush=True)
    order = " → ".join(member.repository for member in out.members)
    say(f"Change set {out.id} created; merge order: {order}.")
    say(
        f"A worker opens its pull requests; follow it with 'orchestrate changeset status {out.id}'."
    )


@changeset_app.command("list")
def list_change_sets(
    state: Annotated[
        service.ChangeSetState | None, typer.Option("--state", help="Only this state.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Change sets, newest first."""
    page = run_with_runtime(
        lambda rt: service.list_change_sets(rt.uow(read_only=True), state=state, limit=_LIST_LIMIT)
    )
    found = [ChangeSetOut.of(c) for c in page.items]
    if json_output:
        print_json(found)
        return
    print_table(
        ["id", "state", "title", "repositories", "created"],
        (
            (c.id, c.state, c.title, ", ".join(m.repository for m in c.members), c.created_at)
            for c in found
        ),
    )


@changeset_app.command("show")
def show(change_set_id: IdArgument, json_output: JsonOption = False) -> None:
    """The whole record: its members in merge order, their pull requests and notes."""
    out = ChangeSetOut.of(
        run_with_runtime(lambda rt: service.get_change_set(rt.uow(read_only=True), change_set_id))
    )
    if json_output:
        print_json(out)
        return
    print_fields(
        [
            ("title", out.title),
            ("state", out.state),
            ("failure", out.failure_reason),
            ("description", out.description or None),
            ("created by", out.created_by),
            ("created", out.created_at),
            ("finished", out.finished_at),
        ],
        title=out.id,
    )
    print_table(
        ["#", "repository", "agent", "pull request", "state", "merges after", "note"],
        (
            (
                m.position + 1,
                m.repository,
                m.agent_id,
                m.url or m.pull_request,
                m.state,
                ", ".join(m.depends_on) or None,
                m.note,
            )
            for m in out.members
        ),
    )


@changeset_app.command("status")
def status(change_set_id: IdArgument, json_output: JsonOption = False) -> None:
    """Each member in merge order: its pull request, its state, what it waits for."""
    change_set, statuses = run_with_runtime(
        lambda rt: service.change_set_status(rt.uow(read_only=True), change_set_id)
    )
    out = ChangeSetStatusOut.of(change_set, statuses)
    if json_output:
        print_json(out)
        return
    print_table(
        ["#", "repository", "pull request", "state", "waiting for"],
        (
            (m.position + 1, m.repository, m.url or m.pull_request, m.state, m.waiting_for)
            for m in out.members
        ),
        title=f"{out.id} ({out.state}): {out.title}",
    )
    if out.failure_reason:
        say(f"Failed: {out.failure_reason}")


@changeset_app.command("cancel")
def cancel(change_set_id: IdArgument) -> None:
    """Stop an open or merging change set: nothing more is opened or merged."""
    cancelled = run_with_runtime(
        lambda rt: service.cancel_change_set(rt.uow(), change_set_id, Actor.local_cli())
    )
    merged = [m for m in cancelled.members if m.state is service.MemberState.MERGED]
    say(
        f"Cancelled {cancelled.id}"
        + (f"; merged already: {', '.join(m.pull_request or '' for m in merged)}" if merged else "")
        + "."
    )
