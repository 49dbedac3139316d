"""Webhook deliveries of the fake GitHub: what happened, POSTed to the hooks a test added.

Like GitHub, the fake delivers after it has answered, in the order things happened,
one delivery per hook and event, with ``X-GitHub-Event``, ``X-GitHub-Delivery`` and,
when the hook has a secret, ``X-Hub-Signature-256`` over the exact body. Deliveries go
from one background thread, so a receiver that calls the fake back (as Orchestrate's
automations do) never deadlocks it; ``wait`` lets a test see them all delivered.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str | None
    events: frozenset[str] | None
    """The event names it wants; None: every event."""

    def wants(self, event: str) -> bool:
        return self.events is None or event in self.events


@dataclass(frozen=True)
class Delivery:
    """One delivery made: to which hook, of what, and what the receiver answered."""

    delivery_id: str
    event: str
    action: str | None
    url: str
    payload: dict[str, Any]
    status: int | None
    error: str | None = None


class HookSender:
    def __init__(self) -> None:
        self.hooks: list[Webhook] = []
        self.delivered: list[Delivery] = []
        self._queue: deque[tuple[Webhook, str, dict[str, Any]]] = deque()
        self._busy = False
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopped = False

    def send(self, event: str, payload: dict[str, Any]) -> None:
        """Queue ``event`` for every hook that wants it."""
        with self._condition:
            for hook in self.hooks:
                if hook.wants(event):
                    self._queue.append((hook, event, payload))
            if self._queue and self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="fake-github-hooks", daemon=True
                )
                self._thread.start()
            self._condition.notify_all()

    def wait(self, timeout: float = 10.0) -> list[Delivery]:
        """Block until everything queued so far is delivered; the deliveries made."""
        with self._condition:
            done = self._condition.wait_for(lambda: not self._queue and not self._busy, timeout)
            if not done:
                raise TimeoutError(f"webhook deliveries still pending after {timeout} s")
            return list(self.delivered)

    def stop(self) -> None:
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: bool(self._queue) or self._stopped)
                if self._stopped:
                    return
                hook, event, payload = self._queue.popleft()
                self._busy = True
            delivery = _deliver(hook, event, payload)
            with self._condition:
                self.delivered.append(delivery)
                self._busy = False
                self._condition.notify_all()


def _deliver(hook: Webhook, event: str, payload: dict[str, Any]) -> Delivery:
    body = json.dumps(payload).encode()
    delivery_id = str(uuid.uuid4())
    headers = {
        "content-type": "application/json",
        "user-agent": "GitHub-Hookshot/fake",
        "x-github-event": event,
        "x-github-delivery": delivery_id,
        "x-github-hook-id": "1",
    }
    if hook.secret:
        digest = hmac.new(hook.secret.encode(), body, hashlib.sha256).hexdigest()
        headers["x-hub-signature-256"] = f"sha256={digest}"
    request = urllib.request.Request(hook.url, data=body, headers=headers, method="POST")  # noqa: S310
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the test's URL
            status: int | None = answer.status
        problem = None
    except urllib.error.HTTPError as refused:
        status, problem = refused.code, refused.reason
    except OSError as failed:
        status, problem = None, repr(failed)
    return Delivery(delivery_id, event, action, hook.url, payload, status, problem)
