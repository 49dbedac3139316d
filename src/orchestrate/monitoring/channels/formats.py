"""What each kind of channel receives: pure functions from a notification to a request body.

- webhook: Alertmanager's webhook JSON (version 4), signed with HMAC-SHA256 over the
  exact body bytes in ``X-Orchestrate-Signature-256: sha256=<hex>``;
- Slack: an incoming-webhook message, ``text`` (the fallback notifications show) and
  ``blocks``;
- PagerDuty: an Events API v2 event whose ``dedup_key`` is derived from the group key
  alone, so trigger, acknowledge and resolve of one group name one incident;
- email: a plain-text message whose subject reads like Alertmanager's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from orchestrate.monitoring.channels.models import Channel
from orchestrate.monitoring.notifications import FIRING, AlertPayload, Notification

SIGNATURE_HEADER = "X-Orchestrate-Signature-256"
NOTIFICATION_ID_HEADER = "X-Orchestrate-Notification-Id"
ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` of an alert still firing."""

_PAGERDUTY_SEVERITIES = {
    "critical": "critical",
    "page": "critical",
    "error": "error",
    "high": "error",
    "major": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
}
_SLACK_MAX_ALERTS = 10


def title(notification: Notification) -> str:
    """``[FIRING:2] HighErrorRate (service=api)`` — Alertmanager's default subject."""
    count = len(notification.firing if notification.status == FIRING else notification.alerts)
    state = notification.status.upper()
    if notification.acknowledged and notification.status == FIRING:
        state = "ACKNOWLEDGED"
    labels = {k: v for k, v in notification.group_labels.items() if k != "alertname"}
    shown = f" ({', '.join(f'{k}={v}' for k, v in sorted(labels.items()))})" if labels else ""
    return f"[{state}:{count}] {notification.alert_name}{shown}"


def rfc3339(moment: datetime | None) -> str:
    if moment is None:
        return ZERO_TIME
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --- the generic webhook --------------------------------------------------------------


def webhook_body(receiver: str, notification: Notification) -> bytes:
    """Alertmanager's webhook payload (version 4) as the bytes that are sent and signed."""
    body = {
        "version": "4",
        "groupKey": notification.group_key,
        "truncatedAlerts": 0,
        "status": notification.status,
        "receiver": receiver,
        "groupLabels": notification.group_labels,
        "commonLabels": notification.common_labels,
        "commonAnnotations": notification.common_annotations,
        "externalURL": "",
        "acknowledged": notification.acknowledged,
        "alerts": [
            {
                "status": alert.status,
                "labels": alert.labels,
                "annotations": alert.annotations,
                "startsAt": rfc3339(alert.starts_at),
                "endsAt": rfc3339(alert.ends_at),
                "generatorURL": "",
                "fingerprint": alert.fingerprint,
            }
            for alert in notification.alerts
        ],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signature(key: str, body: bytes) -> str:
    """The ``X-Orchestrate-Signature-256`` value: ``sha256=`` and the HMAC's hex digest."""
    return "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


# --- Slack ----------------------------------------------------------------------------


def slack_body(notification: Notification) -> dict[str, Any]:
    heading = title(notification)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading[:150]}}
    ]
    for alert in notification.alerts[:_SLACK_MAX_ALERTS]:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_alert(alert)[:3000]}}
        )
    hidden = len(notification.alerts) - _SLACK_MAX_ALERTS
    context = f"group {notification.group_key}"
    if hidden > 0:
        context = f"and {hidden} more alert(s); {context}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context[:3000]}]})
    summary = notification.common_annotations.get("summary", "")
    return {"text": f"{heading}: {summary}" if summary else heading, "blocks": blocks}


def _slack_alert(alert: AlertPayload) -> str:
    icon = ":red_circle:" if alert.status == FIRING else ":large_green_circle:"
    lines = [f"{icon} *{_slack_text(alert.name)}* ({alert.status})"]
    for key in ("summary", "description"):
        if alert.annotations.get(key):
            lines.append(_slack_text(alert.annotations[key]))
    if alert.annotations.get("runbook_url"):
        url = alert.annotations["runbook_url"].replace("|", "%7C").replace(">", "%3E")
        lines.append(f"<{url}|Runbook>")
    labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()) if k != "alertname")
    if labels:
        lines.append(f"`{_slack_text(labels)}`")
    return "\n".join(lines)


def _slack_text(text: str) -> str:
    """Slack's mrkdwn escaping: a label cannot become a link or an ``<!channel>`` ping."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- PagerDuty ------------------------------------------------------------------------


def dedup_key(group_key: str) -> str:
    """The same for every event of one alert group: PagerDuty's incident key."""
    return "orchestrate-" + hashlib.sha256(group_key.encode()).hexdigest()[:40]


def pagerduty_action(notification: Notification) -> str:
    if notification.status != FIRING:
        return "resolve"
    return "acknowledge" if notification.acknowledged else "trigger"


def pagerduty_event(notification: Notification, routing_key: str) -> dict[str, Any]:
    action = pagerduty_action(notification)
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(notification.group_key),
        "client": "Orchestrate",
    }
    if action == "trigger":
        summary = notification.common_annotations.get("summary")
        text = f"{title(notification)}: {summary}" if summary else title(notification)
        event["payload"] = {
            "summary": text[:1024],
            "source": "orchestrate",
            "severity": pagerduty_severity(notification),
            "custom_details": {
                "group_key": notification.group_key,
                "group_labels": notification.group_labels,
                "firing": [_details(alert) for alert in notification.firing],
                "resolved": [_details(alert) for alert in notification.resolved],
            },
        }
        runbooks = sorted(
            {
                a.annotations["runbook_url"]
                for a in notification.alerts
                if "runbook_url" in a.annotations
            }
        )
        if runbooks:
            event["links"] = [{"href": url, "text": "Runbook"} for url in runbooks]
    return event


def pagerduty_severity(notification: Notification) -> str:
    """The alerts' ``severity`` label in PagerDuty's four words (``error`` when unknown)."""
    label = notification.common_labels.get("severity")
    if label is None and notification.alerts:
        label = notification.alerts[0].labels.get("severity")
    return _PAGERDUTY_SEVERITIES.get((label or "").lower(), "error")


def _details(alert: AlertPayload) -> dict[str, Any]:
    return {
        "labels": alert.labels,
        "annotations": alert.annotations,
        "starts_at": rfc3339(alert.starts_at),
        "ends_at": rfc3339(alert.ends_at) if alert.ends_at else None,
    }


# --- email ----------------------------------------------------------------------------


def email_message(channel: Channel, notification: Notification) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = title(notification)
    message["From"] = channel.text("from")
    recipients = channel.config.get("to", [])
    message["To"] = ", ".join(str(r) for r in recipients) if isinstance(recipients, list) else ""
    message["X-Orchestrate-Notification-Id"] = notification.id
    message.set_content(email_text(notification))
    return message


def email_text(notification: Notification) -> str:
    lines = [title(notification), "", f"Group: {notification.group_key}"]
    for heading, alerts in (("Firing", notification.firing), ("Resolved", notification.resolved)):
        if not alerts:
            continue
        lines += ["", f"{heading} ({len(alerts)}):"]
        for alert in alerts:
            lines.append(f"- {alert.name} since {rfc3339(alert.starts_at)}")
            for key in ("summary", "description", "runbook_url"):
                if alert.annotations.get(key):
                    lines.append(f"  {key}: {alert.annotations[key]}")
            labels = ", ".join(f"{k}={v}" for k, v in sorted(alert.labels.items()))
            lines.append(f"  labels: {labels}")
    return "\n".join(lines) + "\n"
