"""``orchestrate alert …``: rules, alerts, acknowledgement and silences."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.alerts import service
from orchestrate.monitoring.alerts.models import AlertState, parse_duration
from orchestrate.monitoring.alerts.schemas import AlertOut, AlertRuleOut, SilenceOut

alert_app = typer.Typer(
    help="Alert rules over the platform's metrics, their alerts, and silences.",
    no_args_is_help=True,
)
rules_app = typer.Typer(help="List, apply and remove alert rules (docs/alerts.md).")
alert_app.add_typer(rules_app, name="rules")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@rules_app.callback(invoke_without_command=True)
def list_rules(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """The rules applied from files and the API (without a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return

    async def read(rt: Runtime) -> list[AlertRuleOut]:
        config = await service.alert_config(rt.uow(read_only=True))
        return [AlertRuleOut.of(source, rule) for source, rule in config.rules]

    rules = run_with_runtime(read)
    if json_output:
        print_json([rule.model_dump(mode="json", by_alias=True) for rule in rules])
        return
    print_table(
        ["name", "metric", "window", "condition", "for", "severity", "notify", "source"],
        (
            (
                r.name,
                r.metric,
                r.window,
                r.condition,
                r.for_,
                r.severity,
                ", ".join(r.notify),
                r.source,
            )
            for r in rules
        ),
    )


@rules_app.command("apply")
def apply_rules(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="An alerts file; without one, the files of <home>/alerts/ are applied again."
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="The name it is stored under (default: the file's path).")
    ] = None,
) -> None:
    """Apply an alerts file: its rules, routes and inhibit rules replace those it had."""
    if path is None:
        applied = run_with_runtime(lambda rt: service.sync_rule_files(rt, force=True))
        say(f"Applied {len(applied)} file(s) from the home's alerts folder.")
        return
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationFailed(f"cannot read {path}: {error}") from None
    name = source or str(path.resolve())
    parsed = run_with_runtime(
        lambda rt: service.apply_rules(rt.uow(), name, text, Actor.local_cli())
    )
    say(
        f"Applied {len(parsed.rules)} rule(s), {len(parsed.routes)} route(s) and "
        f"{len(parsed.inhibit_rules)} inhibit rule(s) from {name}."
    )


@rules_app.command("remove")
def remove_rules(source: Annotated[str, typer.Argument(help="The source to remove.")]) -> None:
    """Remove the rules, routes and inhibit rules one source applied."""
    run_with_runtime(lambda rt: service.remove_rules(rt.uow(), source, Actor.local_cli()))
    say(f"Removed the alert rules of {source}.")


@alert_app.command("list")
def list_alerts(
    state: Annotated[AlertState | None, typer.Option(help="Only alerts in this state.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOption = False,
) -> None:
    """Alerts, newest first."""
    page = run_with_runtime(
        lambda rt: service.list_alerts(rt.uow(read_only=True), state=state, limit=limit)
    )
    alerts = [AlertOut.of(alert) for alert in page.items]
    if json_output:
        print_json(alerts)
        return
    print_table(
        ["id", "rule", "state", "value", "labels", "since", "ack", "held by"],
        (
            (
                a.id,
                a.rule,
                a.state.value,
                f"{a.value:g}",
                ", ".join(f"{k}={v}" for k, v in sorted(a.labels.items()) if k != "alertname"),
                a.fired_at or a.active_at,
                a.acknowledged_by,
                a.suppressed_by,
            )
            for a in alerts
        ),
    )


@alert_app.command("ack")
def acknowledge(alert_id: Annotated[str, typer.Argument(help="The alert's id.")]) -> None:
    """Acknowledge an alert: its group's next notification says so, and repeats stop."""
    alert = run_with_runtime(lambda rt: service.acknowledge(rt.uow(), alert_id, Actor.local_cli()))
    say(f"Acknowledged {alert.id} ({alert.rule}).")


@alert_app.command("silence")
def silence(
    match: Annotated[
        list[str],
        typer.Option(
            "--match", help="A label matcher, e.g. team=platform (repeat: all must match)."
        ),
    ],
    duration: Annotated[str, typer.Option("--for", help="How long: 30m, 2h, 1d.")],
    comment: Annotated[str, typer.Option(help="Why, for whoever reads it later.")] = "",
) -> None:
    """Hold back notifications of the alerts matching every --match, for a while."""
    try:
        length = parse_duration(duration)
    except ValueError as error:
        raise ValidationFailed(str(error)) from None
    made = run_with_runtime(
        lambda rt: service.create_silence(
            rt.uow(), match, length, Actor.local_cli(), comment=comment
        )
    )
    say(
        f"Silenced {', '.join(str(m) for m in made.matchers)} "
        f"until {made.ends_at:%Y-%m-%d %H:%M} UTC ({made.id})."
    )


@alert_app.command("silences")
def silences(
    include_expired: Annotated[bool, typer.Option("--all", help="Also ended ones.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Silences now in force (and, with --all, ended ones)."""

    async def read(rt: Runtime) -> list[SilenceOut]:
        found = await service.list_silences(rt.uow(read_only=True), include_expired=include_expired)
        now = rt.clock.now()
        return [SilenceOut.of(s, now) for s in found]

    found = run_with_runtime(read)
    if json_output:
        print_json(found)
        return
    print_table(
        ["id", "matchers", "state", "ends", "by", "comment"],
        ((s.id, ", ".join(s.matchers), s.state, s.ends_at, s.created_by, s.comment) for s in found),
    )


@alert_app.command("unsilence")
def unsilence(silence_id: Annotated[str, typer.Argument(help="The silence's id.")]) -> None:
    """End a silence now."""
    run_with_runtime(lambda rt: service.expire_silence(rt.uow(), silence_id, Actor.local_cli()))
    say(f"Ended silence {silence_id}.")


@alert_app.command("evaluate")
def evaluate(json_output: JsonOption = False) -> None:
    """Evaluate the rules once now (workers do it on every event that feeds a rule)."""
    result = run_with_runtime(service.evaluate)
    summary = {
        "rules": result.rules,
        "firing": result.firing,
        "pending": result.pending,
        "changes": [
            {"alert": t.alert.id, "rule": t.alert.rule, "change": t.change.value}
            for t in result.transitions
        ],
        "notifications": [n.id for n in result.notifications],
    }
    if json_output:
        print_json(summary)
        return
    say(
        f"{result.rules} rule(s): {result.firing} firing, {result.pending} pending; "
        f"{len(result.transitions)} change(s), {len(result.notifications)} notification(s) queued."
    )
