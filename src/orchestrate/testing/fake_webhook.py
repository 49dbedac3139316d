"""A fake webhook receiver on 127.0.0.1: records each POST's body and headers, answers
``200`` (or what ``fail_next``/``drop_next`` say), and checks signatures on request.

``FakeWebhookReceiver(signing_key=…)`` answers ``401`` to a request whose
``X-Orchestrate-Signature-256`` is not the HMAC-SHA256 of its body under that key,
the way a careful receiver would.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from orchestrate.testing._notify_server import Answer, FakeReceiver, ReceivedRequest

__all__ = ["FakeWebhookReceiver", "ReceivedRequest", "signature_matches"]


class FakeWebhookReceiver(FakeReceiver):
    name = "fake-webhook"
    path = "/alerts"

    def __init__(self, signing_key: str | None = None) -> None:
        super().__init__()
        self.signing_key = signing_key

    def accept(self, body: bytes, headers: dict[str, str]) -> Answer:
        if self.signing_key is not None and not signature_matches(
            self.signing_key, body, headers.get("x-orchestrate-signature-256", "")
        ):
            return Answer(401, {"error": "bad signature"})
        return Answer(200, {"status": "received"})

    @property
    def bodies(self) -> list[Any]:
        return [request.json() for request in self.accepted]


def signature_matches(key: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is ``sha256=`` and the hex HMAC-SHA256 of ``body`` under ``key``."""
    expected = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)
