"""What each channel is sent, built from a notification without any network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.monitoring.channels import formats
from orchestrate.monitoring.channels.models import ChannelOptions, ChannelType, owned_secret_name
from orchestrate.monitoring.channels.sending import retry_after
from orchestrate.monitoring.notifications import AlertPayload, Notification

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def make_alert(status: str = "firing", **labels: str) -> AlertPayload:
    return AlertPayload(
        fingerprint="f00d",
        status=status,
        labels={"alertname": "DiskFull", "severity": "warning", **labels},
        annotations={"summary": "disk at 95%"},
        starts_at=NOW,
        ends_at=None if status == "firing" else NOW + timedelta(minutes=5),
    )


def make_notification(*alerts: AlertPayload, **changes: object) -> Notification:
    alerts = alerts or (make_alert(),)
    values: dict[str, object] = {
        "id": "n1",
        "channel": "ops",
        "group_key": "route:{alertname=DiskFull}",
        "status": "firing" if any(a.status == "firing" for a in alerts) else "resolved",
        "alerts": alerts,
        "group_labels": {"alertname": "DiskFull", "host": "db1"},
        "common_labels": {"alertname": "DiskFull", "severity": "warning"},
        "common_annotations": {"summary": "disk at 95%"},
        **changes,
    }
    return Notification(**values)  # type: ignore[arg-type]


def test_a_notification_survives_its_job_payload_round_trip() -> None:
    notification = make_notification(make_alert(), make_alert("resolved"), acknowledged=True)

    assert Notification.from_json(json.loads(json.dumps(notification.to_json()))) == notification


def test_the_title_counts_the_firing_alerts_and_names_the_group_labels() -> None:
    notification = make_notification(make_alert(), make_alert(), make_alert("resolved"))

    assert formats.title(notification) == "[FIRING:2] DiskFull (host=db1)"


def test_a_resolved_group_is_titled_resolved_with_every_alert() -> None:
    notification = make_notification(make_alert("resolved"))

    assert formats.title(notification) == "[RESOLVED:1] DiskFull (host=db1)"


def test_the_dedup_key_depends_on_the_group_key_alone() -> None:
    firing = make_notification(make_alert())
    resolved = make_notification(make_alert("resolved"), id="n2")

    assert formats.dedup_key(firing.group_key) == formats.dedup_key(resolved.group_key)
    assert formats.dedup_key("other") != formats.dedup_key(firing.group_key)


@pytest.mark.parametrize(
    ("label", "severity"),
    [("critical", "critical"), ("warning", "warning"), ("info", "info"), ("weird", "error")],
)
def test_pagerduty_severity_comes_from_the_severity_label(label: str, severity: str) -> None:
    notification = make_notification(common_labels={"severity": label})

    assert formats.pagerduty_event(notification, "k")["payload"]["severity"] == severity


def test_acknowledge_and_resolve_events_carry_no_payload() -> None:
    acknowledged = formats.pagerduty_event(make_notification(acknowledged=True), "k")
    resolved = formats.pagerduty_event(make_notification(make_alert("resolved")), "k")

    assert (acknowledged["event_action"], resolved["event_action"]) == ("acknowledge", "resolve")
    assert "payload" not in acknowledged
    assert "payload" not in resolved


def test_slack_text_cannot_ping_the_channel() -> None:
    notification = make_notification(make_alert(service="<!channel>"))

    section = formats.slack_body(notification)["blocks"][1]["text"]["text"]

    assert "<!channel>" not in section
    assert "&lt;!channel&gt;" in section


def test_the_signature_is_the_hmac_of_the_exact_body() -> None:
    body = formats.webhook_body("ops", make_notification())

    assert formats.signature("key", body) != formats.signature("key", body + b" ")
    assert formats.signature("key", body).startswith("sha256=")


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("2", timedelta(seconds=2)),
        ("0.25", timedelta(seconds=0.25)),
        ("Mon, 07 Dec 2026 12:00:30 GMT", timedelta(seconds=30)),
        ("86400", timedelta(hours=1)),
        ("soon", None),
    ],
)
def test_retry_after_reads_seconds_or_a_date_and_is_capped(
    header: str, wait: timedelta | None
) -> None:
    assert retry_after({"retry-after": header}, now=NOW) == wait


def test_a_channels_own_secret_is_named_after_it() -> None:
    assert owned_secret_name("ops-hook", "signing_key") == "NOTIFY_OPS_HOOK_SIGNING_KEY"


@pytest.mark.parametrize(
    "options",
    [
        ChannelOptions("Ops", ChannelType.WEBHOOK, url="http://x"),
        ChannelOptions("ops", ChannelType.WEBHOOK, url="javascript:alert(1)"),
        ChannelOptions("ops", ChannelType.SLACK, url="http://x", signing_secret="S"),
        ChannelOptions("ops", ChannelType.PAGERDUTY, routing_key="a", routing_key_secret="B"),
        ChannelOptions(
            "ops",
            ChannelType.EMAIL,
            smtp_host="h",
            smtp_port=70000,
            sender="a@b",
            recipients=("c@d",),
        ),
        ChannelOptions(
            "ops",
            ChannelType.EMAIL,
            smtp_host="h",
            smtp_port=25,
            sender="a@b",
            recipients=("c@d",),
            password_secret="P",
        ),
    ],
)
def test_options_that_do_not_fit_are_refused(options: ChannelOptions) -> None:
    with pytest.raises(ValidationFailed):
        options.spec()
