"""``orchestrate secret …``: set (value from standard input), list, delete, rotate-key.

A value is never a command-line argument: arguments end up in shell history and in
``ps`` output for every user of the machine to read.
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.errors import ValidationFailed
from orchestrate.secrets import service
from orchestrate.secrets.models import VALUE_MAX_BYTES, normalise_name
from orchestrate.secrets.schemas import SecretOut

secret_app = typer.Typer(
    help="Manage encrypted secrets (pipelines read them as ${{ secrets.NAME }}).",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="The secret's name, e.g. DEPLOY_TOKEN.")]


@secret_app.command("set")
def set_secret(name: NameArgument) -> None:
    """Store a secret; its value is read from standard input, e.g. `secret set X < file`.

    One trailing newline is dropped (what `echo` and editors add); everything else,
    inner newlines included, is kept. On a terminal the value is asked for, unechoed.
    """
    name = normalise_name(name)
    value = _read_value(name)
    written = run_with_runtime(
        lambda rt: service.set_secret(rt.uow(), rt.settings, name, value, Actor.local_cli())
    )
    say(f"{'Created' if written.is_new else 'Updated'} secret {written.secret.name}.")


@secret_app.command("list")
def list_secrets(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List secrets: names and dates only, never values."""
    secrets = [
        SecretOut.of(s)
        for s in run_with_runtime(lambda rt: service.list_secrets(rt.uow(read_only=True)))
    ]
    if json_output:
        print_json(secrets)
        return
    print_table(
        ["name", "created", "updated"], ((s.name, s.created_at, s.updated_at) for s in secrets)
    )


@secret_app.command("delete")
def delete_secret(name: NameArgument) -> None:
    """Delete a secret; pipelines that use it fail validation from now on."""
    deleted = run_with_runtime(
        lambda rt: service.delete_secret(rt.uow(), rt.settings, name, Actor.local_cli())
    )
    say(f"Deleted secret {deleted.name}.")


@secret_app.command("rotate-key")
def rotate_key() -> None:
    """Re-encrypt every secret under a new key (or the first of ORCHESTRATE_SECRET_KEY)."""
    rotation = run_with_runtime(
        lambda rt: service.rotate_key(rt.uow(), rt.settings, Actor.local_cli())
    )
    say(f"Re-encrypted {rotation.re_encrypted} secret(s) under key {rotation.key_id}.")
    if rotation.retired_key_ids:
        say(f"No secret needs these keys any more: {', '.join(rotation.retired_key_ids)}.")


def _read_value(name: str) -> str:
    if sys.stdin is None:
        raise ValidationFailed("No standard input to read the secret's value from")
    if sys.stdin.isatty():
        value = getpass.getpass(f"Value of {name} (not echoed): ")
    else:
        value = sys.stdin.read(VALUE_MAX_BYTES + 2)
    value = value.removesuffix("\n").removesuffix("\r") if value.endswith("\n") else value
    if not value:
        raise ValidationFailed(
            f"No value for secret {name}: pipe it on standard input, e.g. "
            f"'printf %s \"$VALUE\" | orchestrate secret set {name}'",
            field="value",
        )
    return value
