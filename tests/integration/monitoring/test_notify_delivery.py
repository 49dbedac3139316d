"""Notifications sent by the real job runner to real servers on 127.0.0.1: a webhook
receiver, Slack, PagerDuty and an SMTP server; retries, idempotency and the log."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
from collections.abc import Iterator

import pytest

from orchestrate.core.jobs import JobStatus
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.channels.models import ChannelType, Outcome
from orchestrate.secrets import service as secret_store
from orchestrate.testing.fake_pagerduty import FakePagerDuty
from orchestrate.testing.fake_slack import FakeSlack
from orchestrate.testing.fake_webhook import FakeWebhookReceiver
from tests.integration.monitoring.notify_support import (
    ADMIN,
    Mailbox,
    add_channel,
    enqueue,
    job_of,
    log_of,
    notification,
    notification_events,
    run_notifications,
    smtp_server,
)


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as fake:
        yield fake


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def pagerduty() -> Iterator[FakePagerDuty]:
    with FakePagerDuty() as fake:
        yield fake


@pytest.fixture
def mail() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


class TestWebhook:
    async def test_the_body_is_alertmanager_json_signed_with_the_stored_key(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        key = await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook"))

        await run_notifications(runtime)

        [request] = receiver.accepted
        assert key is not None
        stored = await secret_store.get_secret_values(
            runtime.uow(read_only=True), runtime.settings, ["NOTIFY_OPS_HOOK_SIGNING_KEY"]
        )
        assert stored == {"NOTIFY_OPS_HOOK_SIGNING_KEY": key}
        expected = "sha256=" + hmac.new(key.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-orchestrate-signature-256"] == expected
        assert request.headers["x-orchestrate-notification-id"] == "ntf_1"
        body = request.json()
        assert body["version"] == "4"
        assert body["status"] == "firing"
        assert body["receiver"] == "ops-hook"
        assert body["groupKey"] == notification("x").group_key
        assert body["groupLabels"] == {"alertname": "HighErrorRate"}
        assert body["commonLabels"]["severity"] == "critical"
        [sent] = body["alerts"]
        assert sent["labels"]["alertname"] == "HighErrorRate"
        assert sent["annotations"]["summary"] == "5% of requests fail"
        assert sent["startsAt"] == "2026-12-07T00:00:00Z"
        assert sent["endsAt"] == "0001-01-01T00:00:00Z"
        assert sent["fingerprint"] == "a1b2c3d4"
        events = await notification_events(runtime)
        assert [(kind, subject) for kind, subject, _ in events] == [
            ("notification.channel_added", "ops-hook"),
            ("notification.sent", "ntf_1"),
        ]
        assert key not in str(events)

    async def test_a_receiver_that_checks_signatures_accepts_one_signed_with_a_named_secret(
        self, runtime: Runtime
    ) -> None:
        await secret_store.set_secret(
            runtime.uow(), runtime.settings, "HOOK_KEY", "s3cret-signing-key", ADMIN
        )
        with FakeWebhookReceiver(signing_key="s3cret-signing-key") as checking:
            await add_channel(
                runtime,
                "ops-hook",
                ChannelType.WEBHOOK,
                url=checking.url,
                signing_secret="HOOK_KEY",
            )
            await enqueue(runtime, notification("ops-hook"))
            await run_notifications(runtime)

            assert len(checking.accepted) == 1
        assert [e.outcome for e in await log_of(runtime)] == [Outcome.SENT]

    async def test_enqueuing_the_same_notification_twice_sends_it_once(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook"))
        await enqueue(runtime, notification("ops-hook"))

        await run_notifications(runtime)

        assert len(receiver.requests) == 1

    async def test_a_notification_already_in_the_log_as_sent_is_skipped_when_queued_again(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook"))
        await run_notifications(runtime)
        job = await job_of(runtime, "ntf_1")
        async with runtime.uow() as uow:  # as if the job row had been pruned
            from orchestrate.core.jobs.tables import JobRow

            await uow.session.delete(await uow.session.get(JobRow, job.id))
            await uow.commit()

        await enqueue(runtime, notification("ops-hook"))
        await run_notifications(runtime)

        assert len(receiver.requests) == 1
        assert [e.outcome for e in await log_of(runtime)] == [Outcome.SENT, Outcome.SKIPPED]

    async def test_a_resolve_for_a_group_never_notified_is_skipped(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook", id="ntf_r", status="resolved"))

        await run_notifications(runtime)

        assert receiver.requests == []
        [entry] = await log_of(runtime)
        assert entry.outcome is Outcome.SKIPPED
        assert (await job_of(runtime, "ntf_r")).status is JobStatus.SUCCEEDED
        *_, (kind, subject, payload) = await notification_events(runtime)
        assert (kind, subject) == ("notification.skipped", "ntf_r")
        assert "never notified" in payload["reason"]

    async def test_a_resolve_after_the_firing_was_sent_is_sent(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook", id="ntf_f"))
        await run_notifications(runtime)
        await enqueue(runtime, notification("ops-hook", id="ntf_r", status="resolved"))

        await run_notifications(runtime)

        assert [body["status"] for body in receiver.bodies] == ["firing", "resolved"]
        assert receiver.bodies[1]["alerts"][0]["endsAt"] == "2026-12-07T00:30:00Z"

    async def test_a_firing_still_queued_when_its_group_resolved_is_not_sent_late(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook", id="ntf_f"))
        await enqueue(runtime, notification("ops-hook", id="ntf_r", status="resolved"))
        resolve = await job_of(runtime, "ntf_r")

        await run_notifications(runtime, only=[resolve.id])  # the resolve runs first
        await run_notifications(runtime)

        assert receiver.requests == []
        entries = await log_of(runtime)
        assert [(e.notification_id, e.outcome) for e in entries] == [
            ("ntf_r", Outcome.SKIPPED),
            ("ntf_f", Outcome.SKIPPED),
        ]

    async def test_a_group_firing_again_after_a_resolve_is_sent(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        for one in (
            notification("ops-hook", id="ntf_1"),
            notification("ops-hook", id="ntf_2", status="resolved"),
            notification("ops-hook", id="ntf_3"),
        ):
            await enqueue(runtime, one)
            await run_notifications(runtime)

        assert [body["status"] for body in receiver.bodies] == ["firing", "resolved", "firing"]

    async def test_a_firing_queued_after_the_resolve_is_sent_even_if_the_resolve_runs_later(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        await enqueue(runtime, notification("ops-hook", id="ntf_1"))
        await run_notifications(runtime)
        await enqueue(runtime, notification("ops-hook", id="ntf_2", status="resolved"))
        await enqueue(runtime, notification("ops-hook", id="ntf_3"))
        resolve = await job_of(runtime, "ntf_2")

        await run_notifications(runtime, only=[resolve.id])
        await run_notifications(runtime)

        assert [body["status"] for body in receiver.bodies] == ["firing", "resolved", "firing"]

    async def test_a_429_is_retried_no_sooner_than_its_retry_after(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        receiver.fail_next(1, 429, retry_after=0.3)
        await enqueue(runtime, notification("ops-hook"))

        await run_notifications(runtime)

        first, second = receiver.requests
        assert (first.answered, second.answered) == (429, 200)
        assert second.arrived - first.arrived >= 0.3
        assert [(e.attempt, e.outcome) for e in await log_of(runtime)] == [
            (1, Outcome.RETRYING),
            (2, Outcome.SENT),
        ]

    async def test_server_errors_and_dropped_connections_are_retried(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        receiver.fail_next(2, 500)
        receiver.drop_next(1)
        await enqueue(runtime, notification("ops-hook"))

        await run_notifications(runtime)

        assert [r.answered for r in receiver.requests] == [500, 500, 0, 200]
        assert (await job_of(runtime, "ntf_1")).status is JobStatus.SUCCEEDED

    async def test_a_400_is_not_retried_and_the_job_is_dead_with_the_reason(
        self, runtime: Runtime, receiver: FakeWebhookReceiver
    ) -> None:
        await add_channel(runtime, "ops-hook", ChannelType.WEBHOOK, url=receiver.url)
        receiver.fail_next(1, 400, body={"error": "unknown field"})
        await enqueue(runtime, notification("ops-hook"))

        await run_notifications(runtime)

        assert len(receiver.requests) == 1
        job = await job_of(runtime, "ntf_1")
        assert job.status is JobStatus.DEAD
        assert job.last_error is not None
        assert "HTTP 400" in job.last_error
        [entry] = await log_of(runtime)
        assert entry.outcome is Outcome.FAILED
        *_, (kind, _subject, payload) = await notification_events(runtime)
        assert kind == "notification.failed"
        assert payload["attempt"] == 1
        assert entry.error is not None
        assert "unknown field" in entry.error


class TestSlack:
    async def test_a_message_goes_to_the_stored_webhook_url(
        self, runtime: Runtime, slack: FakeSlack
    ) -> None:
        await add_channel(runtime, "team", ChannelType.SLACK, url=slack.url)
        await enqueue(runtime, notification("team"))

        await run_notifications(runtime)

        [message] = slack.messages
        assert message["text"].startswith("[FIRING:1] HighErrorRate")
        assert message["blocks"][0]["type"] == "header"
        assert "5% of requests fail" in message["blocks"][1]["text"]["text"]
        names = await secret_store.list_secret_names(runtime.uow(read_only=True))
        assert "NOTIFY_TEAM_WEBHOOK_URL" in names

    async def test_slack_being_down_or_rate_limiting_is_retried_and_the_message_sent_once(
        self, runtime: Runtime, slack: FakeSlack
    ) -> None:
        await add_channel(runtime, "team", ChannelType.SLACK, url=slack.url)
        slack.fail_next(1, 503)
        slack.fail_next(1, 429, retry_after=0.1)
        await enqueue(runtime, notification("team"), notification("team"))

        await run_notifications(runtime)

        assert [r.answered for r in slack.requests] == [503, 429, 200]
        assert len(slack.messages) == 1

    async def test_a_slack_error_names_no_webhook_url(
        self, runtime: Runtime, slack: FakeSlack
    ) -> None:
        await add_channel(runtime, "team", ChannelType.SLACK, url=slack.url)
        slack.fail_next(1, 404, body="no_service")
        await enqueue(runtime, notification("team"))

        await run_notifications(runtime)

        job = await job_of(runtime, "ntf_1")
        assert job.status is JobStatus.DEAD
        assert job.last_error is not None
        assert slack.path not in job.last_error
        assert "no_service" in job.last_error


class TestPagerDuty:
    async def test_trigger_acknowledge_and_resolve_share_one_dedup_key(
        self, runtime: Runtime, pagerduty: FakePagerDuty
    ) -> None:
        await secret_store.set_secret(
            runtime.uow(), runtime.settings, "PD_KEY", pagerduty.routing_key, ADMIN
        )
        await add_channel(
            runtime,
            "oncall",
            ChannelType.PAGERDUTY,
            url=pagerduty.origin,
            routing_key_secret="PD_KEY",
        )

        for one in (
            notification("oncall", id="n1"),
            notification("oncall", id="n2", acknowledged=True),
            notification("oncall", id="n3", status="resolved"),
        ):
            await enqueue(runtime, one)
            await run_notifications(runtime)

        trigger, acknowledge, resolve = pagerduty.events
        assert [e["event_action"] for e in pagerduty.events] == [
            "trigger",
            "acknowledge",
            "resolve",
        ]
        assert trigger["dedup_key"] == acknowledge["dedup_key"] == resolve["dedup_key"]
        assert trigger["payload"]["severity"] == "critical"
        assert trigger["payload"]["source"] == "orchestrate"
        assert trigger["payload"]["summary"].startswith("[FIRING:1] HighErrorRate")
        assert pagerduty.incidents == {trigger["dedup_key"]: "resolved"}

    async def test_the_same_trigger_enqueued_twice_reaches_pagerduty_once(
        self, runtime: Runtime, pagerduty: FakePagerDuty
    ) -> None:
        await add_channel(
            runtime,
            "oncall",
            ChannelType.PAGERDUTY,
            url=pagerduty.origin,
            routing_key=pagerduty.routing_key,
        )
        pagerduty.fail_next(1, 500)
        await enqueue(runtime, notification("oncall"))
        await enqueue(runtime, notification("oncall"))

        await run_notifications(runtime)

        assert [r.answered for r in pagerduty.requests] == [500, 202]
        assert [e["event_action"] for e in pagerduty.events] == ["trigger"]

    async def test_a_routing_key_from_standard_input_is_stored_and_used(
        self, runtime: Runtime, pagerduty: FakePagerDuty
    ) -> None:
        await add_channel(
            runtime,
            "oncall",
            ChannelType.PAGERDUTY,
            url=pagerduty.origin,
            routing_key=pagerduty.routing_key,
        )
        await enqueue(runtime, notification("oncall"))

        await run_notifications(runtime)

        assert len(pagerduty.events) == 1

    async def test_a_rate_limit_is_waited_out_and_an_invalid_event_is_not_retried(
        self, runtime: Runtime, pagerduty: FakePagerDuty
    ) -> None:
        await add_channel(
            runtime, "oncall", ChannelType.PAGERDUTY, url=pagerduty.origin, routing_key="wrong"
        )
        pagerduty.fail_next(1, 429, retry_after=0.2)
        await enqueue(runtime, notification("oncall"))

        await run_notifications(runtime)

        assert [r.answered for r in pagerduty.requests] == [429, 400]
        assert pagerduty.requests[1].arrived - pagerduty.requests[0].arrived >= 0.2
        job = await job_of(runtime, "ntf_1")
        assert job.status is JobStatus.DEAD
        assert "Invalid routing key" in (job.last_error or "")
        assert "wrong" not in (job.last_error or "").replace("Invalid routing key", "")


class TestEmail:
    async def test_an_email_lists_the_alerts_under_an_alertmanager_subject(
        self, runtime: Runtime, mail: tuple[Mailbox, int]
    ) -> None:
        mailbox, port = mail
        await add_channel(
            runtime,
            "ops-mail",
            ChannelType.EMAIL,
            smtp_host="127.0.0.1",
            smtp_port=port,
            sender="alerts@example.com",
            recipients=("ops@example.com", "oncall@example.com"),
        )
        await enqueue(runtime, notification("ops-mail"))

        await run_notifications(runtime)

        [envelope] = mailbox.messages
        assert envelope.rcpt_tos == ["ops@example.com", "oncall@example.com"]
        assert envelope.content is not None
        raw = envelope.content if isinstance(envelope.content, bytes) else envelope.content.encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message["Subject"] == "[FIRING:1] HighErrorRate"
        text = message.get_content()
        assert "5% of requests fail" in text
        assert "https://runbooks.example.com/high-error-rate" in text

    async def test_a_temporary_smtp_refusal_is_retried_and_a_permanent_one_is_not(
        self, runtime: Runtime, mail: tuple[Mailbox, int]
    ) -> None:
        mailbox, port = mail
        await add_channel(
            runtime,
            "ops-mail",
            ChannelType.EMAIL,
            smtp_host="127.0.0.1",
            smtp_port=port,
            sender="alerts@example.com",
            recipients=("ops@example.com",),
        )
        mailbox.refusals = ["451 Try again later", "554 Rejected"]
        await enqueue(runtime, notification("ops-mail"))

        await run_notifications(runtime)

        assert mailbox.messages == []
        entries = await log_of(runtime)
        assert [e.outcome for e in entries] == [Outcome.RETRYING, Outcome.FAILED]
        assert (await job_of(runtime, "ntf_1")).status is JobStatus.DEAD


async def test_a_notification_for_a_channel_that_does_not_exist_fails_without_retrying(
    runtime: Runtime,
) -> None:
    await enqueue(runtime, notification("nowhere"))

    await run_notifications(runtime)

    job = await job_of(runtime, "ntf_1")
    assert job.status is JobStatus.DEAD
    assert job.attempts == 1
    assert "no notification channel 'nowhere'" in (job.last_error or "")
