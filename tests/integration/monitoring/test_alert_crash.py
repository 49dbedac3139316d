"""A worker killed between evaluating and sending: no alert is lost, none is sent twice.

The evaluation's transaction holds the notifications' send jobs, so what a dead
evaluator decided is sent by whichever worker runs the queue next, once; the next
evaluations see the group as notified and send nothing more."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.alerts import service as alerts
from orchestrate.monitoring.channels.models import ChannelType
from orchestrate.testing.fake_webhook import FakeWebhookReceiver
from tests.integration.monitoring.notify_support import ADMIN, add_channel, run_notifications
from tests.integration.monitoring.test_alert_evaluation import FAILURES, fail

HELPER = Path(__file__).with_name("evaluate_then_hang.py")


async def test_what_a_killed_evaluator_decided_is_sent_once_by_the_next_worker(
    runtime: Runtime,
) -> None:
    with FakeWebhookReceiver() as receiver:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await alerts.apply_rules(runtime.uow(), "alerts.yml", FAILURES, ADMIN)
        await fail(runtime)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        evaluator = subprocess.Popen(
            [
                sys.executable,
                str(HELPER),
                runtime.settings.database_url_value,
                str(runtime.settings.home),
            ],
            stdout=subprocess.PIPE,
            env=env,
        )
        try:
            assert evaluator.stdout is not None
            line = await asyncio.wait_for(asyncio.to_thread(evaluator.stdout.readline), timeout=60)
            assert line.strip() == b"evaluated 1"
        finally:
            evaluator.send_signal(signal.SIGKILL)
            evaluator.wait(10)
        assert receiver.bodies == [], "the killed process sent nothing"

        await run_notifications(runtime)  # another worker runs the queue
        for _ in range(3):  # and the rules are evaluated again and again
            again = await alerts.evaluate(runtime)
            assert again.notifications == ()
            await run_notifications(runtime)

        (body,) = receiver.bodies
    assert body["status"] == "firing"
    assert body["commonLabels"]["alertname"] == "pipeline-failures"
