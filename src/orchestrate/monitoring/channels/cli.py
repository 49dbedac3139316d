"""``orchestrate notify …``: the channels alerts are sent to, a test send, the log of sends.

Credentials never come as plain arguments except Slack's webhook URL, which is only a
URL to the person pasting it (it is stored as a secret and never shown again); a
PagerDuty routing key comes from a stored secret or standard input.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.errors import ValidationFailed
from orchestrate.monitoring.channels import service
from orchestrate.monitoring.channels.models import ChannelOptions, ChannelType
from orchestrate.monitoring.channels.schemas import ChannelOut, LogEntryOut

notify_app = typer.Typer(
    help="Notification channels (email, Slack, PagerDuty, webhook): add, test, see what was sent.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
NameArgument = Annotated[str, typer.Argument(help="The channel's name, e.g. ops-hook.")]


@notify_app.command("channels")
def list_channels(json_output: JsonOption = False) -> None:
    """List the channels: type, where they send, the secrets they use (names only)."""
    channels = [
        ChannelOut.of(c)
        for c in run_with_runtime(lambda rt: service.list_channels(rt.uow(read_only=True)))
    ]
    if json_output:
        print_json(channels)
        return
    print_table(
        ["name", "type", "target", "secrets", "created"],
        (
            (c.name, c.type.value, c.target, ", ".join(sorted(c.secrets.values())), c.created_at)
            for c in channels
        ),
    )


@notify_app.command("add")
def add_channel(
    name: NameArgument,
    type_: Annotated[ChannelType, typer.Option("--type", help="The kind of channel.")],
    url: Annotated[
        str | None,
        typer.Option(
            help="webhook: where to POST; slack: the incoming-webhook URL (stored as a "
            "secret); pagerduty: the Events API base (default https://events.pagerduty.com)."
        ),
    ] = None,
    signing_secret: Annotated[
        str | None,
        typer.Option(
            help="webhook: the stored secret to sign with (default: a new random key, "
            "printed once)."
        ),
    ] = None,
    routing_key_secret: Annotated[
        str | None, typer.Option(help="pagerduty: the stored secret holding the routing key.")
    ] = None,
    routing_key_stdin: Annotated[
        bool, typer.Option(help="pagerduty: read the routing key from standard input.")
    ] = False,
    smtp_host: Annotated[str | None, typer.Option(help="email: the SMTP server.")] = None,
    smtp_port: Annotated[int, typer.Option(help="email: its port.")] = 25,
    starttls: Annotated[bool, typer.Option(help="email: upgrade with STARTTLS.")] = False,
    username: Annotated[str | None, typer.Option(help="email: the SMTP user.")] = None,
    password_secret: Annotated[
        str | None, typer.Option(help="email: the stored secret holding the SMTP password.")
    ] = None,
    sender: Annotated[str | None, typer.Option("--from", help="email: the sender.")] = None,
    to: Annotated[str | None, typer.Option(help="email: recipients, comma-separated.")] = None,
) -> None:
    """Add a channel. Its credentials go to the encrypted secret store."""
    options = ChannelOptions(
        name=name,
        type=type_,
        url=url,
        signing_secret=signing_secret,
        routing_key_secret=routing_key_secret,
        routing_key=_read_routing_key() if routing_key_stdin else None,
        smtp_host=smtp_host,
        smtp_port=smtp_port if type_ is ChannelType.EMAIL else None,
        starttls=starttls,
        username=username,
        password_secret=password_secret,
        sender=sender,
        recipients=tuple((to or "").split(",")) if to else (),
    )
    spec = options.spec()
    added = run_with_runtime(
        lambda rt: service.add_channel(rt.uow(), rt.settings, spec, Actor.local_cli())
    )
    channel = added.channel
    say(f"Added {channel.type.value} channel {channel.name}: {channel.target}.")
    if added.generated_signing_key is not None:
        say(
            f"Signing key (stored as secret {channel.secrets['signing_key']}; shown only "
            f"now, give it to the receiver): {added.generated_signing_key}"
        )


def _read_routing_key() -> str:
    if sys.stdin.isatty():
        raise ValidationFailed("--routing-key-stdin reads the key from a pipe or a file")
    value = sys.stdin.read().removesuffix("\n").strip()
    if not value:
        raise ValidationFailed("--routing-key-stdin read nothing from standard input")
    return value


@notify_app.command("remove")
def remove_channel(name: NameArgument) -> None:
    """Remove a channel and the secrets added with it (not those it only named)."""
    channel = run_with_runtime(
        lambda rt: service.remove_channel(rt.uow(), rt.settings, name, Actor.local_cli())
    )
    say(f"Removed {channel.type.value} channel {channel.name}.")


@notify_app.command("test")
def test_channel(name: NameArgument) -> None:
    """Send a test notification now and report how it went (exit 1 with the reason)."""
    sent = run_with_runtime(
        lambda rt: service.send_test_notification(rt.uow(), rt.settings, name, Actor.local_cli())
    )
    say(f"Test notification {sent.notification_id} {sent.detail}.")


@notify_app.command("log")
def notification_log(
    channel: Annotated[str | None, typer.Option(help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOption = False,
) -> None:
    """What was sent, retried, refused or skipped, newest first."""
    entries = [
        LogEntryOut.of(e)
        for e in run_with_runtime(
            lambda rt: service.notification_log(
                rt.uow(read_only=True), channel=channel, limit=limit
            )
        ).items
    ]
    if json_output:
        print_json(entries)
        return
    print_table(
        ["at", "channel", "notification", "status", "attempt", "outcome", "error"],
        (
            (
                e.sent_at,
                e.channel,
                e.notification_id,
                e.status,
                e.attempt,
                e.outcome.value,
                e.error,
            )
            for e in entries
        ),
    )
