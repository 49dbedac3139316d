"""Processing stored webhook deliveries: the jobs that route them and start their work.

Two jobs share the work. ``triggers.process_deliveries`` takes the batch the receiver
stored in one transaction: it routes every delivery against pipelines loaded once,
runs their automations, then starts the matched runs and marks all of them
``processed`` in the one transaction that completes the job. A delivery whose routing
or automations fail (its body no longer parses, say) is handed to a
``triggers.process_delivery`` job of its own, which has per-delivery attempts, backoff,
the ``processing``/``failed`` states and the dead letters; if the batch's transaction
fails, its retry hands every delivery to such a job. So one bad delivery holds up the
others at most by one retry's backoff. ``webhook redeliver`` and ``webhook replay`` use
the single job directly.

Either way runs are created in the transaction that marks the delivery processed, so
a retried job never starts them twice; agents and stories open their own
transactions, and their unique origin keys make a repeat start nothing.
"""

from __future__ import annotations

from typing import Any

import structlog

from orchestrate.auth.service import Actor
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.jobs import (
    JobContext,
    JobRegistry,
    LeaseLost,
    NewJob,
    enqueue_many,
)
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery_service
from orchestrate.forges.service import ForgeEvent
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.spec import PipelineSpec
from orchestrate.repositories import service as repositories
from orchestrate.repositories.service import RepositoryIndex
from orchestrate.triggers import _store as store
from orchestrate.triggers import automations, deliveries, routing
from orchestrate.triggers.kinds import (
    PROCESS_DELIVERIES,
    PROCESS_DELIVERY,
    DeliveryBatch,
    DeliveryRef,
)
from orchestrate.triggers.models import DeliveryStatus, WebhookDelivery

log = structlog.get_logger(__name__)


def register_trigger_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """Every job handler of webhook processing."""
    del runtime  # handlers get the runtime from their job context
    registry.register(PROCESS_DELIVERIES, process_deliveries)
    registry.register(PROCESS_DELIVERY, process_delivery)


async def enqueue_processing(uow: UnitOfWork, delivery_ids: list[str]) -> list[str]:
    """Queue one single-delivery processing job per delivery; their job ids."""
    return await enqueue_many(
        uow, [NewJob(PROCESS_DELIVERY, DeliveryRef(delivery=key)) for key in delivery_ids]
    )


async def process_deliveries(context: JobContext[DeliveryBatch]) -> dict[str, Any]:
    """The job of one received batch: every delivery of it still ``received`` is processed.

    Routing and automations happen before the write transaction (routing only reads;
    automations open their own). A delivery that fails there is handed to a job of
    its own. Should the batch's transaction fail, the queue retries the job, and a
    retry hands every delivery still ``received`` to a job of its own, so whatever
    broke the batch holds up only the delivery it concerns.
    """
    runtime = context.runtime
    keys = list(context.payload.deliveries)
    async with runtime.uow(read_only=True) as uow:
        received = await store.received_deliveries(uow, keys)
    if context.job.attempt > 1:
        async with runtime.uow() as uow:
            await enqueue_processing(uow, [delivery.id for delivery in received])
            outcome = {"processed": 0, "alone": len(received)}
            await context.complete_in(uow, outcome)
            await uow.commit()
        return outcome
    specs = await pipeline_specs(runtime.uow(read_only=True))
    registry = await repositories.repository_index(runtime.uow(read_only=True), runtime.settings)
    results: dict[str, tuple[WebhookDelivery, ForgeEvent, dict[str, Any]]] = {}
    alone: list[str] = []
    for delivery in received:
        try:
            event = deliveries.forge_event(delivery)
            result = routed(event, specs, registry)
            result["automations"] = await automations.run_automations(runtime, event, registry)
        except Exception as error:
            log.warning("webhook_delivery_processed_alone", delivery=delivery.id, error=str(error))
            alone.append(delivery.id)
            continue
        results[delivery.id] = (delivery, event, result)
    async with runtime.uow() as uow:
        rows = await store.rows_for_update(uow, list(results))
        # Deliveries match pipelines in any order; locking them all up front, by name,
        # keeps two batches starting runs of the same pipelines from deadlocking.
        matched = (name for _, _, result in results.values() for name in result["matched"])
        await pipelines.lock_pipelines(uow, matched)
        processed = 0
        for row in rows:
            if DeliveryStatus(row.status) is not DeliveryStatus.RECEIVED:
                continue  # processed or queued alone meanwhile
            delivery, event, result = results[row.id]
            result["runs"] = await start_matched_pipelines(
                uow, runtime.settings, delivery, result["matched"]
            )
            result["shepherd"] = await delivery_service.on_forge_event(uow, runtime.settings, event)
            row.attempts += 1
            deliveries.set_status(uow, row, DeliveryStatus.PROCESSED, result=result)
            processed += 1
        await enqueue_processing(uow, alone)
        outcome = {"processed": processed, "alone": len(alone)}
        await context.complete_in(uow, outcome)
        await uow.commit()
    return outcome


async def process_delivery(context: JobContext[DeliveryRef]) -> dict[str, Any] | None:
    """The single-delivery job: route one delivery and record what it started.

    A failed attempt leaves the delivery ``processing`` with the error in
    ``last_error`` and is retried by the queue; the last attempt's failure marks it
    ``failed`` (the job is then in the dead letters).
    """
    key = context.payload.delivery
    runtime = context.runtime
    delivery = await _begin_processing(runtime.uow(), key)
    if delivery is None:
        return {"delivery": key, "skipped": "already processed"}
    try:
        registry = await repositories.repository_index(
            runtime.uow(read_only=True), runtime.settings
        )
        event = deliveries.forge_event(delivery)
        result = routed(event, await pipeline_specs(runtime.uow(read_only=True)), registry)
        result["automations"] = await automations.run_automations(runtime, event, registry)
        async with runtime.uow() as uow:
            row = await store.delivery_row(uow, key, for_update=True)
            result["runs"] = await start_matched_pipelines(
                uow, runtime.settings, delivery, result["matched"]
            )
            result["shepherd"] = await delivery_service.on_forge_event(uow, runtime.settings, event)
            deliveries.set_status(uow, row, DeliveryStatus.PROCESSED, result=result)
            await context.complete_in(uow, {"delivery": key, "status": "processed"})
            await uow.commit()
    except LeaseLost:
        raise
    except Exception as error:
        await _record_failure(runtime.uow(), key, error, final=context.job.is_last_attempt)
        raise
    return None


async def start_matched_pipelines(
    uow: UnitOfWork, settings: Settings, delivery: WebhookDelivery, matched: list[str]
) -> list[dict[str, Any]]:
    """One run per matched pipeline, with the payload as its ``trigger`` context.

    A pipeline that cannot start from a webhook (it needs an input no webhook gives,
    or was deleted meanwhile) is recorded, not retried.
    """
    started: list[dict[str, Any]] = []
    actor = Actor.system("webhooks")
    for name in matched:
        request = pipelines.TriggerRequest(
            name, trigger=dict(delivery.payload), kind=pipelines.TriggerKind.WEBHOOK
        )
        try:
            run = await pipelines.trigger_within(uow, settings, request, actor)
        except (ValidationFailed, NotFound) as error:
            started.append({"pipeline": name, "error": str(error)})
            continue
        started.append({"pipeline": name, "run_id": run.id, "number": run.number})
    return started


async def _begin_processing(uow: UnitOfWork, key: str) -> WebhookDelivery | None:
    async with uow:
        row = await store.delivery_row(uow, key, for_update=True)
        if DeliveryStatus(row.status) is DeliveryStatus.PROCESSED:
            return None
        deliveries.set_status(uow, row, DeliveryStatus.PROCESSING)
        row.attempts += 1
        await uow.commit()
        return deliveries.to_delivery(row)


async def _record_failure(uow: UnitOfWork, key: str, error: Exception, *, final: bool) -> None:
    message = f"{type(error).__name__}: {error}"
    async with uow:
        row = await store.delivery_row(uow, key, for_update=True)
        if DeliveryStatus(row.status) is not DeliveryStatus.PROCESSING:
            return
        target = DeliveryStatus.FAILED if final else DeliveryStatus.PROCESSING
        deliveries.set_status(uow, row, target, error=message)
        await uow.commit()


async def pipeline_specs(uow: UnitOfWork) -> list[PipelineSpec]:
    """Every registered pipeline's parsed spec, for routing (``uow`` not entered yet)."""
    return [
        PipelineSpec.model_validate(pipeline.spec)
        for pipeline in await pipelines.list_pipelines(uow)
    ]


def routed(
    event: ForgeEvent, specs: list[PipelineSpec], registry: RepositoryIndex
) -> dict[str, Any]:
    """Which of ``specs`` the event matches, and why the others do not.

    Filters without ``repositories:`` are bound to the repositories of the registry
    (``orchestrate repo add``, and the seed ``ORCHESTRATE_GITHUB_REPOSITORIES``) on the
    event's forge.
    """
    verdicts = routing.route(event, specs, managed=registry.names(event.forge))
    return {
        "pipelines": [
            {"pipeline": v.pipeline, "matched": v.matched, "reasons": v.reasons} for v in verdicts
        ],
        "matched": [v.pipeline for v in verdicts if v.matched],
    }


async def route_delivery(
    uow: UnitOfWork, settings: Settings, delivery: WebhookDelivery
) -> dict[str, Any]:
    """Route one stored delivery against the pipelines and repositories registered now."""
    event = deliveries.forge_event(delivery)
    registry = await repositories.repository_index(uow.sibling(read_only=True), settings)
    return routed(event, await pipeline_specs(uow), registry)
