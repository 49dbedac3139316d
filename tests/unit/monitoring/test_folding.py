"""Folding the event log into the business metrics, and rendering the stored totals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from orchestrate.agents.events import AgentCompleted, AgentFailed, AgentStarted
from orchestrate.core.events import DomainEvent, Event
from orchestrate.monitoring.folding import fold, labels_key
from orchestrate.monitoring.metrics import render_metrics, total_families
from orchestrate.pipelines.events import (
    RunFailed,
    RunQueued,
    RunStarted,
    RunSucceeded,
    StepSkipped,
    StepSucceeded,
)
from orchestrate.schedules.events import ScheduleFired
from orchestrate.triggers.events import (
    WebhookDeliveryFailed,
    WebhookDeliveryProcessed,
    WebhookDeliveryReceived,
)

AT = datetime(2026, 12, 7, tzinfo=UTC)


def stored(events: Sequence[DomainEvent]) -> list[Event]:
    return [
        Event(n, event.event_type, event.subject, event.payload(), AT, event.schema_version)
        for n, event in enumerate(events, start=1)
    ]


def folded(*events: DomainEvent) -> dict[tuple[str, str], float]:
    return fold(stored(events)).by_sample


def key(sample: str, **labels: str) -> tuple[str, str]:
    return (sample, labels_key(labels))


def samples_of(totals: dict[tuple[str, str], float]) -> list[Sample]:
    body, _ = render_metrics(total_families(totals))
    return [
        sample
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    ]


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    for sample in samples:
        if sample.name == name and sample.labels == labels:
            return sample.value
    return None


class TestPipelines:
    def test_ended_runs_count_by_pipeline_and_status_and_observe_their_duration(self) -> None:
        totals = folded(
            RunQueued(subject="run_1", pipeline="ci", number=1),
            RunStarted(subject="run_1", pipeline="ci", from_="queued"),
            RunSucceeded(subject="run_1", pipeline="ci", from_="running", duration_seconds=42),
            RunFailed(subject="run_2", pipeline="ci", from_="running", duration_seconds=7),
        )

        assert totals[key("orchestrate_pipeline_runs_queued_total", pipeline="ci")] == 1
        ok = {"pipeline": "ci", "status": "success"}
        assert totals[key("orchestrate_pipeline_runs_total", **ok)] == 1
        assert totals[key("orchestrate_pipeline_runs_total", pipeline="ci", status="failure")] == 1
        assert totals[key("orchestrate_pipeline_run_duration_seconds_sum", **ok)] == 42
        assert totals[key("orchestrate_pipeline_run_duration_seconds_bucket", **ok, le="60.0")] == 1
        assert (
            key("orchestrate_pipeline_run_duration_seconds_bucket", **ok, le="30.0") not in totals
        )
        assert not any(
            sample.endswith("runs_total") and "running" in labels for sample, labels in totals
        )

    def test_a_step_that_never_started_counts_without_a_duration(self) -> None:
        totals = folded(
            StepSkipped(subject="run_1", step="deploy", from_="pending", to="skipped"),
            StepSucceeded(
                subject="run_1", step="test", from_="running", to="success", duration_seconds=3
            ),
        )

        assert totals[key("orchestrate_pipeline_steps_total", status="skipped")] == 1
        assert totals[key("orchestrate_pipeline_steps_total", status="success")] == 1
        assert (
            key("orchestrate_pipeline_step_duration_seconds_count", status="skipped") not in totals
        )
        assert (
            totals[key("orchestrate_pipeline_step_duration_seconds_count", status="success")] == 1
        )

    def test_a_batch_adds_one_increment_per_sample_however_many_events(self) -> None:
        runs = [
            RunSucceeded(subject=f"run_{n}", pipeline="ci", from_="running", duration_seconds=1)
            for n in range(50)
        ]

        totals = folded(*runs)

        assert totals[key("orchestrate_pipeline_runs_total", pipeline="ci", status="success")] == 50
        assert len(totals) == 1 + 13 + 2  # the counter, every bucket, sum and count


class TestAgents:
    def test_ended_runs_count_by_type_and_state_with_their_turns(self) -> None:
        totals = folded(
            AgentStarted(subject="agent_1", from_="pending", to="running", type="developer"),
            AgentCompleted(
                subject="agent_1",
                from_="running",
                to="completed",
                type="developer",
                turns=12,
                duration_seconds=90,
            ),
            AgentFailed(subject="agent_2", from_="running", to="failed", type="reviewer", turns=1),
        )

        done = {"agent_type": "developer", "state": "completed"}
        assert totals[key("orchestrate_agent_runs_total", **done)] == 1
        assert (
            totals[key("orchestrate_agent_runs_total", agent_type="reviewer", state="failed")] == 1
        )
        assert totals[key("orchestrate_agent_turns_sum", **done)] == 12
        assert totals[key("orchestrate_agent_turns_bucket", **done, le="20.0")] == 1
        assert key("orchestrate_agent_turns_bucket", **done, le="10.0") not in totals
        assert totals[key("orchestrate_agent_run_duration_seconds_sum", **done)] == 90
        assert len([s for s, _ in totals if s == "orchestrate_agent_runs_total"]) == 2


class TestWebhooksAndSchedules:
    def test_deliveries_count_by_event_and_outcome_and_a_put_back_is_not_received_again(
        self,
    ) -> None:
        totals = folded(
            WebhookDeliveryReceived(subject="whd_1", delivery_id="d1", event="push"),
            WebhookDeliveryFailed(
                subject="whd_1", delivery_id="d1", from_="processing", event="push"
            ),
            WebhookDeliveryReceived(subject="whd_1", delivery_id="d1", from_="failed"),
            WebhookDeliveryProcessed(
                subject="whd_1", delivery_id="d1", from_="processing", event="push"
            ),
        )

        assert totals[key("orchestrate_webhook_deliveries_received_total", event="push")] == 1
        failed = key("orchestrate_webhook_deliveries_total", event="push", outcome="failed")
        processed = key("orchestrate_webhook_deliveries_total", event="push", outcome="processed")
        assert totals[failed] == 1
        assert totals[processed] == 1

    def test_schedule_fires_observe_their_lateness(self) -> None:
        totals = folded(
            ScheduleFired(subject="sch_1", schedule="nightly", fire_time=AT, lateness_seconds=0.3),
            ScheduleFired(subject="sch_2", schedule="hourly", fire_time=AT, lateness_seconds=75),
        )

        assert totals[key("orchestrate_schedule_fire_lateness_seconds_count")] == 2
        assert totals[key("orchestrate_schedule_fire_lateness_seconds_bucket", le="0.5")] == 1
        assert totals[key("orchestrate_schedule_fire_lateness_seconds_bucket", le="+Inf")] == 2

    def test_events_no_series_counts_are_ignored(self) -> None:
        other = Event(1, "story.created", "story_1", {"title": "x", "status": "backlog"}, AT)

        assert fold([other]).by_sample == {}


class TestRendering:
    def test_stored_totals_render_as_parseable_counters_and_complete_histograms(self) -> None:
        totals = folded(
            RunSucceeded(subject="run_1", pipeline="ci", from_="running", duration_seconds=42),
            ScheduleFired(subject="sch_1", schedule="nightly", fire_time=AT, lateness_seconds=2),
        )

        samples = samples_of(totals)

        ok = {"pipeline": "ci", "status": "success"}
        assert value(samples, "orchestrate_pipeline_runs_total", **ok) == 1
        duration = "orchestrate_pipeline_run_duration_seconds"
        assert value(samples, f"{duration}_bucket", **ok, le="30.0") == 0  # filled in
        assert value(samples, f"{duration}_bucket", **ok, le="60.0") == 1
        assert value(samples, f"{duration}_bucket", **ok, le="+Inf") == 1
        assert value(samples, f"{duration}_count", **ok) == 1
        assert value(samples, f"{duration}_sum", **ok) == 42
        lateness = "orchestrate_schedule_fire_lateness_seconds"
        assert value(samples, f"{lateness}_bucket", le="1.0") == 0
        assert value(samples, f"{lateness}_bucket", le="2.0") == 1

    def test_a_sample_no_longer_catalogued_is_left_out(self) -> None:
        totals = {("orchestrate_retired_total", labels_key({})): 3.0}

        assert value(samples_of(totals), "orchestrate_retired_total") is None
