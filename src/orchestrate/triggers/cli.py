"""``orchestrate webhook …``: look at received deliveries, process one again, replay a file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime
from orchestrate.triggers import service
from orchestrate.triggers.schemas import DeliveryOut, DeliverySummaryOut, ExplanationOut

webhook_app = typer.Typer(
    help="Inspect GitHub and GitLab webhook deliveries; process again, replay payloads.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@webhook_app.command("list")
def list_deliveries(
    event: Annotated[str | None, typer.Option(help="Only deliveries of this event.")] = None,
    forge: Annotated[
        str | None, typer.Option(help="Only deliveries from this forge: github or gitlab.")
    ] = None,
    status: Annotated[
        service.DeliveryStatus | None, typer.Option(help="Only deliveries in this status.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOption = False,
) -> None:
    """List received deliveries, newest first."""
    page = run_with_runtime(
        lambda rt: service.list_deliveries(
            rt.uow(read_only=True), event=event, status=status, limit=limit, forge=forge
        )
    )
    found = [DeliverySummaryOut.of(delivery) for delivery in page.items]
    if json_output:
        print_json(found)
        return
    print_table(
        [
            "id",
            "forge",
            "event",
            "action",
            "repository",
            "status",
            "attempts",
            "received",
            "delivery",
        ],
        (
            (
                d.id,
                d.forge,
                d.event,
                d.action,
                d.repository,
                d.status,
                d.attempts,
                d.received_at,
                d.delivery_id,
            )
            for d in found
        ),
    )


@webhook_app.command("show")
def show(
    delivery: Annotated[str, typer.Argument(help="Its id (whd_…) or the forge's delivery id.")],
    json_output: JsonOption = False,
) -> None:
    """Show one delivery: headers, status, error and what processing did."""
    found = DeliveryOut.of(
        run_with_runtime(lambda rt: service.get_delivery(rt.uow(read_only=True), delivery))
    )
    if json_output:
        print_json(found)
        return
    _print_delivery(found)


@webhook_app.command("redeliver")
def redeliver(
    delivery: Annotated[str, typer.Argument(help="Its id (whd_…) or the forge's delivery id.")],
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Wait until it is processed (here, or by a running worker) and show the result.",
        ),
    ] = False,
) -> None:
    """Process a stored delivery again."""

    async def work(runtime: Runtime) -> service.WebhookDelivery:
        queued = await service.redeliver(runtime.uow(), delivery, Actor.local_cli())
        say(f"Delivery {queued.delivery.id} is queued for processing (job {queued.job_id}).")
        if wait:
            return await service.wait_for_processing(runtime, queued)
        return queued.delivery

    found = run_with_runtime(work)
    if wait:
        _exit_with(DeliveryOut.of(found), json_output=False)


@webhook_app.command("replay")
def replay(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A JSON webhook payload.")
    ],
    event: Annotated[
        str,
        typer.Option(
            help="The X-GitHub-Event it is, e.g. push; for GitLab its X-Gitlab-Event, "
            "e.g. 'Push Hook'."
        ),
    ],
    forge: Annotated[str, typer.Option(help="The forge it is from: github or gitlab.")] = (
        "github"
    ),
    json_output: JsonOption = False,
) -> None:
    """Feed a payload from a file as if the forge had sent it, and show what processing did.

    It is processed here, or by a running ``serve`` or worker if one takes it first."""

    async def work(runtime: Runtime) -> service.WebhookDelivery:
        queued = await service.replay_file(
            runtime.uow(), file, event, Actor.local_cli(), forge=forge
        )
        return await service.wait_for_processing(runtime, queued)

    _exit_with(DeliveryOut.of(run_with_runtime(work)), json_output=json_output)


@webhook_app.command("explain")
def explain(
    delivery: Annotated[str, typer.Argument(help="Its id (whd_…) or the forge's delivery id.")],
    json_output: JsonOption = False,
) -> None:
    """Show which pipelines the delivery matches now, why the others do not, and which
    built-in automations apply. Nothing is started."""
    explained = run_with_runtime(
        lambda rt: service.explain_delivery(rt.uow(read_only=True), rt.settings, delivery)
    )
    found = ExplanationOut.of(
        explained.delivery, explained.pipelines, explained.matched, explained.automations
    )
    if json_output:
        print_json(found)
        return
    summary = found.delivery
    say(f"Delivery {summary.id}: {summary.event} {summary.action or ''} of {summary.repository}")
    print_table(
        ["pipeline", "matched", "why"],
        ((v.pipeline, "yes" if v.matched else "no", "; ".join(v.reasons)) for v in found.pipelines),
        title="Pipelines",
    )
    print_table(
        ["automation", "repository", "why", "skipped"],
        (
            (a["automation"], a["repository"], a["reason"], a.get("skipped", ""))
            for a in found.automations
        ),
        title="Built-in automations",
    )
    for automation in found.automations:
        if automation.get("skipped"):
            say(f"automation {automation['automation']} skipped: {automation['skipped']}")


def _exit_with(delivery: DeliveryOut, *, json_output: bool) -> None:
    """Print the processed delivery; exit 1 unless processing succeeded."""
    if json_output:
        print_json(delivery)
    else:
        _print_delivery(delivery)
    if delivery.status is not service.DeliveryStatus.PROCESSED:
        raise typer.Exit(1)


def _print_delivery(delivery: DeliveryOut) -> None:
    print_fields(
        [
            ("id", delivery.id),
            ("delivery", delivery.delivery_id),
            ("forge", delivery.forge),
            ("event", delivery.event),
            ("action", delivery.action),
            ("repository", delivery.repository),
            ("status", delivery.status),
            ("attempts", delivery.attempts),
            ("received", delivery.received_at),
            ("processed", delivery.processed_at),
            ("last error", delivery.last_error),
            ("result", json.dumps(delivery.result, indent=2) if delivery.result else None),
        ],
        title=f"Webhook delivery {delivery.id}",
    )
    print_table(["header", "value"], sorted(delivery.headers.items()))
