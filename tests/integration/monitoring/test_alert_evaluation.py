"""Alert rules evaluated over the real event log with an injected clock, both databases.

The metric is ``pipeline_runs_failed`` fed by ``pipeline.run.failure`` events recorded
as the pipelines record them; each test moves the clock and evaluates, as the
``monitoring.alerts`` consumer does on a worker.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrate.auth.service import Actor
from orchestrate.core.clock import FrozenClock
from orchestrate.core.db import create_database
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.monitoring.alerts import service
from orchestrate.monitoring.alerts.models import Alert, AlertState
from orchestrate.monitoring.channels import service as channels
from orchestrate.monitoring.channels.models import ChannelSpec, ChannelType
from orchestrate.pipelines.events import RunFailed, RunSucceeded

ME = Actor.local_cli()
CHANNELS = ("ops-hook", "pager", "chat", "audit")


@pytest.fixture(autouse=True)
async def _channels(settings: Settings) -> None:
    """The channels the rules below notify (nothing is sent: the tests run no jobs)."""
    runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
    try:
        for name in CHANNELS:
            spec = ChannelSpec(name, ChannelType.WEBHOOK, {"url": f"http://127.0.0.1:9/{name}"})
            await channels.add_channel(runtime.uow(), settings, spec, ME)
    finally:
        await runtime.close()


def rules(body: str) -> str:
    return "rules:\n" + body


ONE = "  - name: x\n    metric: pipeline_runs_failed\n    condition: '> 0'\n"


FAILURES = rules(
    """
  - name: pipeline-failures
    metric: pipeline_runs_failed
    window: 5m
    condition: "> 0"
    for: 0s
    severity: critical
    labels: {team: platform}
    annotations: {summary: "{{ $value }} pipeline runs failed"}
    notify: [ops-hook]
    group_wait: 0s
    group_interval: 1m
    repeat_interval: 1h
"""
)


async def fail(runtime: Runtime, pipeline: str = "deploy", count: int = 1) -> None:
    async with runtime.uow() as uow:
        for n in range(count):
            record_event(
                uow, RunFailed(subject=f"run_{pipeline}_{n}", pipeline=pipeline, from_="running")
            )
        await uow.commit()


async def succeed(runtime: Runtime, pipeline: str = "deploy") -> None:
    async with runtime.uow() as uow:
        record_event(
            uow, RunSucceeded(subject=f"run_{pipeline}_ok", pipeline=pipeline, from_="running")
        )
        await uow.commit()


async def apply(runtime: Runtime, text: str, source: str = "alerts.yml") -> None:
    await service.apply_rules(runtime.uow(), source, text, ME)


async def alerts(runtime: Runtime, state: AlertState | None = None) -> list[Alert]:
    return (await service.list_alerts(runtime.uow(read_only=True), state=state)).items


class TestFiring:
    async def test_a_failure_fires_at_once_and_notifies_once_with_the_rules_labels(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(frozen_runtime, FAILURES)
        await fail(frozen_runtime, count=2)

        first = await service.evaluate(frozen_runtime)
        clock.advance(timedelta(seconds=10))
        second = await service.evaluate(frozen_runtime)

        (alert,) = await alerts(frozen_runtime, AlertState.FIRING)
        assert alert.labels == {
            "alertname": "pipeline-failures",
            "severity": "critical",
            "team": "platform",
        }
        assert alert.annotations == {"summary": "2 pipeline runs failed"}
        assert alert.value == 2
        (notification,) = first.notifications
        assert notification.channel == "ops-hook"
        assert notification.status == "firing"
        assert [a.fingerprint for a in notification.alerts] == [alert.fingerprint]
        assert notification.common_labels["team"] == "platform"
        assert notification.group_labels == {"alertname": "pipeline-failures"}
        assert second.notifications == (), "nothing changed: nothing is sent"

    async def test_an_unchanged_firing_group_is_repeated_after_repeat_interval(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        text = FAILURES.replace("window: 5m", "window: 3h")
        await apply(frozen_runtime, text)
        await fail(frozen_runtime)
        first = await service.evaluate(frozen_runtime)

        clock.advance(timedelta(minutes=59))
        assert (await service.evaluate(frozen_runtime)).notifications == ()
        clock.advance(timedelta(minutes=1))
        repeat = (await service.evaluate(frozen_runtime)).notifications

        assert len(repeat) == 1
        assert repeat[0].id != first.notifications[0].id
        assert repeat[0].group_key == first.notifications[0].group_key

    async def test_for_keeps_an_alert_pending_until_the_condition_held_that_long(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(
            frozen_runtime,
            FAILURES.replace("for: 0s", "for: 2m").replace("window: 5m", "window: 10m"),
        )
        await fail(frozen_runtime)

        await service.evaluate(frozen_runtime)
        assert [a.state for a in await alerts(frozen_runtime)] == [AlertState.PENDING]
        clock.advance(timedelta(minutes=1, seconds=59))
        assert (await service.evaluate(frozen_runtime)).notifications == ()
        clock.advance(timedelta(seconds=1))
        fired = await service.evaluate(frozen_runtime)

        assert [a.state for a in await alerts(frozen_runtime)] == [AlertState.FIRING]
        assert len(fired.notifications) == 1

    async def test_a_pending_alert_whose_condition_stops_is_dropped_unannounced(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(frozen_runtime, FAILURES.replace("for: 0s", "for: 10m"))
        await fail(frozen_runtime)
        await service.evaluate(frozen_runtime)

        clock.advance(timedelta(minutes=6))  # the failure left the 5m window
        result = await service.evaluate(frozen_runtime)

        assert await alerts(frozen_runtime) == []
        assert result.notifications == ()


class TestResolving:
    async def test_an_alert_resolves_when_the_window_empties_and_the_group_hears_it_once(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(frozen_runtime, FAILURES)
        await fail(frozen_runtime)
        await service.evaluate(frozen_runtime)

        clock.advance(timedelta(minutes=5, seconds=1))
        resolved = await service.evaluate(frozen_runtime)
        clock.advance(timedelta(hours=2))
        later = await service.evaluate(frozen_runtime)

        (alert,) = await alerts(frozen_runtime)
        assert alert.state is AlertState.RESOLVED
        (notification,) = resolved.notifications
        assert notification.status == "resolved"
        assert notification.alerts[0].ends_at == alert.resolved_at
        assert later.notifications == ()

    async def test_keep_firing_for_holds_a_firing_alert_after_its_condition_stops(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(
            frozen_runtime, FAILURES.replace("for: 0s", "for: 0s\n    keep_firing_for: 10m")
        )
        await fail(frozen_runtime)
        await service.evaluate(frozen_runtime)

        clock.advance(timedelta(minutes=6))  # inactive since 5m
        await service.evaluate(frozen_runtime)
        still = await alerts(frozen_runtime)
        clock.advance(timedelta(minutes=9))  # inactive for 10m: 5m + 10m after the failure
        await service.evaluate(frozen_runtime)
        after = await alerts(frozen_runtime)

        assert [a.state for a in still] == [AlertState.FIRING]
        assert [a.state for a in after] == [AlertState.RESOLVED]

    async def test_an_alert_that_resolves_before_its_group_was_notified_is_never_announced(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(frozen_runtime, FAILURES.replace("group_wait: 0s", "group_wait: 10m"))
        await fail(frozen_runtime)
        await service.evaluate(frozen_runtime)

        clock.advance(timedelta(minutes=6))
        resolved = await service.evaluate(frozen_runtime)
        clock.advance(timedelta(minutes=10))
        later = await service.evaluate(frozen_runtime)

        assert resolved.notifications == later.notifications == ()


class TestGrouping:
    async def test_by_splits_alerts_and_group_by_splits_notifications(
        self, frozen_runtime: Runtime
    ) -> None:
        await apply(
            frozen_runtime,
            rules(
                """
  - name: per-pipeline
    metric: pipeline_runs_failed
    by: [pipeline]
    condition: "> 0"
    labels: {team: platform}
"""
            )
            + """
routes:
  - match: {team: platform}
    channels: [pager, chat]
    group_by: [alertname]
    group_wait: 0s
  - match: {team: platform}
    channels: [audit]
    group_by: [pipeline]
    group_wait: 0s
""",
        )
        await fail(frozen_runtime, "deploy")
        await fail(frozen_runtime, "nightly", count=3)

        result = await service.evaluate(frozen_runtime)

        found = await alerts(frozen_runtime, AlertState.FIRING)
        assert sorted((a.labels["pipeline"], a.value) for a in found) == [
            ("deploy", 1),
            ("nightly", 3),
        ]
        by_channel: dict[str, list[int]] = {}
        for notification in result.notifications:
            by_channel.setdefault(notification.channel, []).append(len(notification.alerts))
        assert by_channel == {"pager": [2], "chat": [2]}, "the first route does not continue"

    async def test_continue_lets_the_next_route_group_its_own_way(
        self, frozen_runtime: Runtime
    ) -> None:
        await apply(
            frozen_runtime,
            rules(
                """
  - name: per-pipeline
    metric: pipeline_runs_failed
    by: [pipeline]
    condition: "> 0"
"""
            )
            + """
routes:
  - channels: [pager]
    group_wait: 0s
    continue: true
  - channels: [audit]
    group_by: [pipeline]
    group_wait: 0s
""",
        )
        await fail(frozen_runtime, "deploy")
        await fail(frozen_runtime, "nightly")

        result = await service.evaluate(frozen_runtime)

        assert sorted((n.channel, len(n.alerts)) for n in result.notifications) == [
            ("audit", 1),
            ("audit", 1),
            ("pager", 2),
        ]

    async def test_a_group_waits_group_interval_before_telling_of_a_new_alert(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(
            frozen_runtime,
            FAILURES.replace(
                "metric: pipeline_runs_failed", "metric: pipeline_runs_failed\n    by: [pipeline]"
            ),
        )
        await fail(frozen_runtime, "deploy")
        first = await service.evaluate(frozen_runtime)
        await fail(frozen_runtime, "nightly")

        clock.advance(timedelta(seconds=30))
        early = await service.evaluate(frozen_runtime)
        clock.advance(timedelta(seconds=30))
        update = await service.evaluate(frozen_runtime)

        assert len(first.notifications[0].alerts) == 1
        assert early.notifications == ()
        (notification,) = update.notifications
        assert len(notification.alerts) == 2


class TestSilencesAndInhibition:
    async def test_a_silenced_alert_fires_but_is_not_notified_until_the_silence_ends(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(frozen_runtime, FAILURES.replace("window: 5m", "window: 3h"))
        silence = await service.create_silence(
            frozen_runtime.uow(),
            ["team=platform", "alertname=~pipeline-.*"],
            timedelta(hours=1),
            ME,
            comment="deploy window",
        )
        await fail(frozen_runtime)

        held = await service.evaluate(frozen_runtime)
        (alert,) = await alerts(frozen_runtime, AlertState.FIRING)
        clock.advance(timedelta(hours=1))
        after = await service.evaluate(frozen_runtime)

        assert held.notifications == ()
        assert alert.suppressed_by == silence.id
        assert len(after.notifications) == 1
        assert (await alerts(frozen_runtime))[0].suppressed_by is None

    async def test_expiring_a_silence_ends_it_now(self, frozen_runtime: Runtime) -> None:
        await apply(frozen_runtime, FAILURES)
        silence = await service.create_silence(
            frozen_runtime.uow(), ["team=platform"], timedelta(hours=1), ME
        )
        await fail(frozen_runtime)
        assert (await service.evaluate(frozen_runtime)).notifications == ()

        await service.expire_silence(frozen_runtime.uow(), silence.id, ME)

        assert len((await service.evaluate(frozen_runtime)).notifications) == 1
        assert await service.list_silences(frozen_runtime.uow(read_only=True)) == []

    async def test_a_critical_alert_inhibits_the_warning_with_the_same_team(
        self, frozen_runtime: Runtime
    ) -> None:
        await apply(
            frozen_runtime,
            rules(
                """
  - name: many-failures
    metric: pipeline_runs_failed
    condition: ">= 3"
    severity: critical
    labels: {team: platform}
    notify: [pager]
    group_wait: 0s
  - name: some-failures
    metric: pipeline_runs_failed
    condition: ">= 1"
    severity: warning
    labels: {team: platform}
    notify: [pager]
    group_wait: 0s
"""
            )
            + """
inhibit_rules:
  - source_match: {severity: critical}
    target_match: {severity: warning}
    equal: [team]
""",
        )
        await fail(frozen_runtime, count=3)

        result = await service.evaluate(frozen_runtime)

        assert [n.alerts[0].labels["alertname"] for n in result.notifications] == ["many-failures"]
        warning = next(a for a in await alerts(frozen_runtime) if a.rule == "some-failures")
        assert warning.state is AlertState.FIRING
        assert warning.suppressed_by == "inhibited"


class TestAcknowledgement:
    async def test_an_acknowledged_group_says_so_once_and_is_not_repeated(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await apply(frozen_runtime, FAILURES.replace("window: 5m", "window: 1d"))
        await fail(frozen_runtime)
        await service.evaluate(frozen_runtime)
        (alert,) = await alerts(frozen_runtime)

        acked = await service.acknowledge(frozen_runtime.uow(), alert.id, ME)
        clock.advance(timedelta(minutes=1))
        update = await service.evaluate(frozen_runtime)
        clock.advance(timedelta(hours=5))
        later = await service.evaluate(frozen_runtime)

        assert acked.acknowledged_by == ME.name
        (notification,) = update.notifications
        assert notification.acknowledged
        assert later.notifications == ()

    async def test_acknowledging_what_is_not_there_or_resolved_is_refused(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        with pytest.raises(NotFound):
            await service.acknowledge(frozen_runtime.uow(), "alr_nope", ME)
        await apply(frozen_runtime, FAILURES)
        await fail(frozen_runtime)
        await service.evaluate(frozen_runtime)
        clock.advance(timedelta(minutes=6))
        await service.evaluate(frozen_runtime)
        (alert,) = await alerts(frozen_runtime)
        with pytest.raises(ValidationFailed, match="resolved"):
            await service.acknowledge(frozen_runtime.uow(), alert.id, ME)


class TestRatesAndGauges:
    async def test_a_failure_rate_counts_failures_over_finished_runs(
        self, frozen_runtime: Runtime
    ) -> None:
        await apply(
            frozen_runtime,
            rules(
                """
  - name: flaky-deploys
    metric: pipeline_run_failure_rate
    by: [pipeline]
    condition: ">= 0.5"
"""
            ),
        )
        await fail(frozen_runtime, "deploy")
        await succeed(frozen_runtime, "deploy")
        await fail(frozen_runtime, "nightly")
        for _ in range(3):
            await succeed(frozen_runtime, "nightly")

        await service.evaluate(frozen_runtime)

        (alert,) = await alerts(frozen_runtime)
        assert alert.labels["pipeline"] == "deploy"
        assert alert.value == 0.5

    async def test_an_equals_zero_rule_fires_when_nothing_happened(
        self, frozen_runtime: Runtime
    ) -> None:
        await apply(
            frozen_runtime,
            rules(
                '  - name: no-deploys\n    metric: pipeline_runs_succeeded\n    condition: "== 0"\n'
            ),
        )

        await service.evaluate(frozen_runtime)

        assert [a.rule for a in await alerts(frozen_runtime, AlertState.FIRING)] == ["no-deploys"]

    async def test_queue_gauges_are_read_as_they_are_now(self, frozen_runtime: Runtime) -> None:
        await apply(
            frozen_runtime,
            rules('  - name: queue\n    metric: job_queue_depth\n    condition: ">= 0"\n'),
        )

        await service.evaluate(frozen_runtime)

        (alert,) = await alerts(frozen_runtime)
        assert alert.value >= 0


class TestApplying:
    @pytest.mark.parametrize(
        ("text", "problem"),
        [
            (
                rules("  - name: x\n    metric: nope\n    condition: '> 0'\n"),
                "unknown metric 'nope'",
            ),
            (
                rules("  - name: x\n    metric: pipeline_runs_failed\n    condition: 'lots'\n"),
                "condition",
            ),
            (
                rules(ONE + "    window: soon\n"),
                "window",
            ),
            (
                rules(ONE + "    by: [team]\n"),
                "cannot be split by team",
            ),
            (
                rules(ONE + ONE),
                "appear twice",
            ),
            ("rules: [\n", "line"),
            ("- just a list\n", "mapping"),
            (
                rules(ONE + "    colour: red\n"),
                "colour",
            ),
        ],
    )
    async def test_a_bad_file_is_refused_with_its_problem_and_nothing_is_stored(
        self, runtime: Runtime, text: str, problem: str
    ) -> None:
        with pytest.raises(ValidationFailed, match=problem):
            await apply(runtime, text)

        config = await service.alert_config(runtime.uow(read_only=True))
        assert [source for source, _ in config.rules] == ["builtin", "builtin"]

    async def test_a_rule_name_is_unique_across_files_and_reapplying_a_file_replaces_it(
        self, runtime: Runtime
    ) -> None:
        await apply(runtime, FAILURES, "one.yml")
        with pytest.raises(ValidationFailed, match=r"already defined by one\.yml"):
            await apply(runtime, FAILURES, "two.yml")

        await apply(runtime, FAILURES.replace("pipeline-failures", "renamed"), "one.yml")

        config = await service.alert_config(runtime.uow(read_only=True))
        assert [rule.name for source, rule in config.rules if source != "builtin"] == ["renamed"]

    async def test_files_in_the_homes_alerts_folder_are_applied_and_removed_with_it(
        self, runtime: Runtime
    ) -> None:
        folder = runtime.settings.home / "alerts"
        folder.mkdir(parents=True)
        (folder / "team.yml").write_text(FAILURES)
        (folder / "broken.yml").write_text("rules: [\n")

        applied = await service.sync_rule_files(runtime, force=True)
        (folder / "team.yml").unlink()
        await service.sync_rule_files(runtime)

        assert applied == [str(folder / "team.yml")]
        config = await service.alert_config(runtime.uow(read_only=True))
        assert [source for source, _ in config.rules] == ["builtin", "builtin"]


class TestBuiltinBudgetAlerts:
    async def test_a_budgets_warning_and_limit_raise_alerts_and_the_limit_inhibits_the_warning(
        self, frozen_runtime: Runtime
    ) -> None:
        from decimal import Decimal

        from orchestrate.costs import service as costs

        spec = costs.BudgetSpec(Decimal(10), warn_at=Decimal("0.5"))
        budget = (await costs.set_budget(frozen_runtime.uow(), spec, ME)).budget

        async def spend(dollars: str) -> None:
            async with frozen_runtime.uow() as uow:
                entry = costs.CostEntry(
                    model="m",
                    provider="openai",
                    agent_id="agent_1",
                    agent_type="worker",
                    input_tokens=1,
                    output_tokens=1,
                    cache_read_tokens=0,
                    cache_write_tokens=0,
                    cost_usd=Decimal(dollars),
                )
                found = await costs.covering_budgets(uow, costs.WorkScope("worker"))
                await costs.record_call_cost(uow, entry, found)
                await uow.commit()

        await spend("6")
        await service.evaluate(frozen_runtime)
        warned = {a.rule: a for a in await alerts(frozen_runtime, AlertState.FIRING)}
        await spend("5")
        await service.evaluate(frozen_runtime)
        spent = {a.rule: a for a in await alerts(frozen_runtime, AlertState.FIRING)}

        assert set(warned) == {"cost-budget-warning"}
        assert warned["cost-budget-warning"].labels["budget"] == budget.id
        assert warned["cost-budget-warning"].annotations["summary"] == (
            "A monthly cost budget passed its warning threshold"
        )
        assert set(spent) == {"cost-budget-warning", "cost-budget-exhausted"}
        assert spent["cost-budget-warning"].suppressed_by == "inhibited"
        assert spent["cost-budget-exhausted"].labels["severity"] == "critical"

    async def test_a_rule_notifying_a_channel_that_does_not_exist_is_refused(
        self, runtime: Runtime
    ) -> None:
        with pytest.raises(ValidationFailed, match="no notification channel named nowhere"):
            await apply(runtime, FAILURES.replace("[ops-hook]", "[ops-hook, nowhere]"))

    async def test_the_builtin_source_is_reserved(self, runtime: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="reserved"):
            await apply(runtime, FAILURES, "builtin")
        with pytest.raises(ValidationFailed, match="already defined by builtin"):
            await apply(runtime, FAILURES.replace("pipeline-failures", "cost-budget-warning"))


class TestWorkers:
    async def test_a_worker_whose_heartbeat_stopped_fires_by_worker(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        from orchestrate.core.jobs import WorkerHeartbeat, workers

        await apply(
            frozen_runtime,
            rules(
                "  - name: silent-worker\n    metric: worker_heartbeat_age_seconds\n"
                "    by: [worker]\n    condition: '> 60'\n"
            ),
        )
        now = clock.now()
        beat = WorkerHeartbeat("worker-a", "host-1", 42, "1.0", now, now, 0)
        async with frozen_runtime.uow() as uow:
            await workers.record_heartbeat(uow, beat)
            await uow.commit()

        await service.evaluate(frozen_runtime)
        quiet = await alerts(frozen_runtime)
        clock.advance(timedelta(minutes=2))
        await service.evaluate(frozen_runtime)
        (alert,) = await alerts(frozen_runtime, AlertState.FIRING)

        assert quiet == []
        assert alert.labels["worker"] == "worker-a"
        assert alert.value == 120
