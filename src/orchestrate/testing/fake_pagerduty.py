"""A fake PagerDuty Events API v2 on 127.0.0.1: ``POST /v2/enqueue``.

It checks each event the way PagerDuty does — a 32-character ``routing_key`` (the
one it was made with, when given), ``event_action`` trigger, acknowledge or resolve,
a ``dedup_key`` for acknowledge and resolve, and for a trigger a ``payload`` with
``summary``, ``source`` and a ``severity`` of critical, error, warning or info —
answering ``202`` with the dedup key, or ``400`` with PagerDuty's error shape. The
accepted events are in ``events``; ``incidents`` is the open/acknowledged/resolved
state per dedup key, as PagerDuty would show it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from orchestrate.testing._notify_server import Answer, FakeReceiver, ReceivedRequest

__all__ = ["FakePagerDuty", "ReceivedRequest"]

_ACTIONS = {"trigger", "acknowledge", "resolve"}
_SEVERITIES = {"critical", "error", "warning", "info"}


class FakePagerDuty(FakeReceiver):
    name = "fake-pagerduty"
    path = "/v2/enqueue"

    def __init__(self, routing_key: str | None = None) -> None:
        super().__init__()
        self.routing_key = routing_key or secrets.token_hex(16)
        self.incidents: dict[str, str] = {}

    def accept(self, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            event = json.loads(body)
        except ValueError:
            return _invalid("Event object is invalid")
        problems = _problems(event, self.routing_key)
        if problems:
            return _invalid(*problems)
        dedup_key = event.get("dedup_key") or secrets.token_hex(16)
        action = event["event_action"]
        if action == "trigger":
            self.incidents[dedup_key] = "triggered"
        elif dedup_key in self.incidents:
            self.incidents[dedup_key] = "acknowledged" if action == "acknowledge" else "resolved"
        return Answer(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )

    @property
    def events(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.accepted]


def _problems(event: Any, routing_key: str) -> list[str]:
    if not isinstance(event, dict):
        return ["Event object is invalid"]
    problems = []
    if event.get("routing_key") != routing_key:
        problems.append("Invalid routing key")
    action = event.get("event_action")
    if action not in _ACTIONS:
        problems.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    if action in ("acknowledge", "resolve") and not event.get("dedup_key"):
        problems.append("'dedup_key' is missing")
    if len(str(event.get("dedup_key", ""))) > 255:
        problems.append("'dedup_key' is too long")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return [*problems, "'payload' is missing or not an object"]
        for key in ("summary", "source", "severity"):
            if not payload.get(key):
                problems.append(f"'payload.{key}' is missing")
        if payload.get("severity") and payload["severity"] not in _SEVERITIES:
            problems.append("'payload.severity' is invalid")
        if len(str(payload.get("summary", ""))) > 1024:
            problems.append("'payload.summary' is too long")
    return problems


def _invalid(*errors: str) -> Answer:
    return Answer(
        400,
        {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)},
    )
