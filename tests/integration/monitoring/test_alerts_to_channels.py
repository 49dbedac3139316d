"""From a rule to a receiver: the alert engine's notifications sent through a channel,
firing then resolved, on both databases."""

from __future__ import annotations

from datetime import timedelta

from orchestrate.core.clock import FrozenClock
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.alerts import service as alerts
from orchestrate.monitoring.channels.models import ChannelType
from orchestrate.testing.fake_webhook import FakeWebhookReceiver
from tests.integration.monitoring.notify_support import ADMIN, add_channel, run_notifications
from tests.integration.monitoring.test_alert_evaluation import FAILURES, fail


async def test_a_firing_rule_reaches_the_webhook_and_its_resolve_follows_with_the_same_group(
    frozen_runtime: Runtime, clock: FrozenClock
) -> None:
    with FakeWebhookReceiver() as receiver:
        key = await add_channel(frozen_runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await alerts.apply_rules(frozen_runtime.uow(), "alerts.yml", FAILURES, ADMIN)
        await fail(frozen_runtime, count=2)

        await alerts.evaluate(frozen_runtime)
        await run_notifications(frozen_runtime)
        clock.advance(timedelta(minutes=10))  # past the rule's 5m window: no failures left
        await alerts.evaluate(frozen_runtime)
        await run_notifications(frozen_runtime)

        firing, resolved = receiver.bodies
    assert key is not None
    assert firing["status"] == "firing"
    assert firing["commonLabels"]["alertname"] == "pipeline-failures"
    assert firing["commonAnnotations"]["summary"] == "2 pipeline runs failed"
    assert resolved["status"] == "resolved"
    assert resolved["groupKey"] == firing["groupKey"]
    assert resolved["alerts"][0]["fingerprint"] == firing["alerts"][0]["fingerprint"]
