"""``orchestrate token …`` and ``orchestrate audit list``."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.auth import service
from orchestrate.auth.models import Actor, Role
from orchestrate.auth.schemas import AuditRecordOut, TokenOut
from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime

token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
audit_app = typer.Typer(help="Read the audit log.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@token_app.command("create")
def create_token(
    name: Annotated[str, typer.Option("--name", help="A unique name, e.g. ci-bot.")],
    role: Annotated[Role, typer.Option("--role", help="What the token may do.")] = Role.VIEWER,
) -> None:
    """Create a token and print it alone on stdout (it is never shown again)."""
    issued = run_with_runtime(
        lambda rt: service.create_token(rt.uow(), name, role, Actor.local_cli())
    )
    print(issued.secret, flush=True)
    say(f"Created {role.value} token {name!r}. Store it now: it cannot be shown again.")


@token_app.command("list")
def list_tokens(
    include_revoked: Annotated[bool, typer.Option("--all", help="Include revoked tokens.")] = False,
    json_output: JsonOption = False,
) -> None:
    """List tokens (names, roles, prefixes; never the secrets)."""
    tokens = run_with_runtime(
        lambda rt: service.list_tokens(rt.uow(read_only=True), include_revoked=include_revoked)
    )
    if json_output:
        print_json([TokenOut.of(t) for t in tokens])
        return
    print_table(
        ["name", "role", "prefix", "created", "last used", "revoked"],
        (
            (t.name, t.role, t.token_prefix + "…", t.created_at, t.last_used_at, t.revoked_at)
            for t in tokens
        ),
    )


@token_app.command("revoke")
def revoke_token(name: Annotated[str, typer.Argument(help="Name of the token.")]) -> None:
    """Revoke a token; requests using it are refused from now on."""
    run_with_runtime(lambda rt: service.revoke_token(rt.uow(), name, Actor.local_cli()))
    say(f"Revoked token {name!r}.")


@audit_app.command("list")
def list_audit(
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many records.")] = 50,
    actor: Annotated[str | None, typer.Option(help="Only this actor.")] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. story.update.")] = None,
    subject: Annotated[str | None, typer.Option(help="Only records about this id.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Show who changed what, when and from where; newest first."""
    page = run_with_runtime(
        lambda rt: service.list_audit(
            rt.uow(read_only=True), limit=limit, actor=actor, action=action, subject=subject
        )
    )
    records = [AuditRecordOut.of(r) for r in page.items]
    if json_output:
        print_json(records)
        return
    print_table(
        ["time", "actor", "action", "subject", "source"],
        ((r.created_at, r.actor, r.action, r.subject, r.source) for r in records),
    )
