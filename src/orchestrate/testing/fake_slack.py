"""A fake Slack incoming webhook on 127.0.0.1: ``FakeSlack().url`` is the webhook URL.

It answers as Slack does — ``200 ok`` for a message with ``text`` or ``blocks``,
``400 invalid_payload`` otherwise — and records each message (``messages``).
"""

from __future__ import annotations

import json
from typing import Any

from orchestrate.testing._notify_server import Answer, FakeReceiver, ReceivedRequest

__all__ = ["FakeSlack", "ReceivedRequest"]


class FakeSlack(FakeReceiver):
    name = "fake-slack"
    path = "/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX"

    def accept(self, body: bytes, headers: dict[str, str]) -> Answer:
        try:
            message = json.loads(body)
        except ValueError:
            return Answer(400, "invalid_payload")
        if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
            return Answer(400, "no_text")
        return Answer(200, "ok")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [request.json() for request in self.accepted]
