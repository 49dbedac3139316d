"""Builders and a runner for the notification tests: notifications, channels, a worker
that runs the queue until every notification job has finished, and an SMTP server."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from orchestrate.auth.service import Actor
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.identity import Role
from orchestrate.core.jobs import (
    JobInfo,
    JobRegistry,
    JobRunner,
    JobStatus,
    RetryPolicy,
    RunnerConfig,
    find_job_by_key,
    list_jobs,
)
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring.channels import service
from orchestrate.monitoring.channels.models import ChannelOptions, ChannelType, LogEntry
from orchestrate.monitoring.notifications import AlertPayload, Notification, enqueue_notification

ADMIN = Actor(name="test:admin", role=Role.ADMIN, source="127.0.0.1")
STARTED = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
GROUP = '{}:{alertname="HighErrorRate"}'


def alert(
    status: str = "firing", *, name: str = "HighErrorRate", fingerprint: str = "a1b2c3d4"
) -> AlertPayload:
    return AlertPayload(
        fingerprint=fingerprint,
        status=status,
        labels={"alertname": name, "severity": "critical", "service": "api"},
        annotations={
            "summary": "5% of requests fail",
            "runbook_url": "https://runbooks.example.com/high-error-rate",
        },
        starts_at=STARTED,
        ends_at=None if status == "firing" else STARTED + timedelta(minutes=30),
    )


def notification(
    channel: str,
    *,
    id: str = "ntf_1",
    status: str = "firing",
    group_key: str = GROUP,
    acknowledged: bool = False,
) -> Notification:
    one = alert(status)
    return Notification(
        id=id,
        channel=channel,
        group_key=group_key,
        status=status,
        alerts=(one,),
        group_labels={"alertname": "HighErrorRate"},
        common_labels=dict(one.labels),
        common_annotations=dict(one.annotations),
        acknowledged=acknowledged,
    )


async def add_channel(
    runtime: Runtime, name: str, type_: ChannelType, **options: Any
) -> str | None:
    """Add a channel through the service; returns the generated signing key, if any."""
    spec = ChannelOptions(name=name, type=type_, **options).spec()
    added = await service.add_channel(runtime.uow(), runtime.settings, spec, ADMIN)
    return added.generated_signing_key


async def enqueue(runtime: Runtime, *notifications: Notification) -> None:
    async with runtime.uow() as uow:
        for one in notifications:
            await enqueue_notification(uow, one)
        await uow.commit()


FAST_RETRIES = RunnerConfig(
    concurrency=4,
    poll_max=timedelta(milliseconds=20),
    retry=RetryPolicy(base=timedelta(milliseconds=20), cap=timedelta(milliseconds=50)),
)


async def run_notifications(
    runtime: Runtime, *, within: float = 15.0, only: list[str] | None = None
) -> None:
    """Run the notification jobs (``only`` these), retries included, until none is
    queued or running."""
    registry = JobRegistry()
    service.register_notification_jobs(registry, runtime)
    async with asyncio.timeout(within):
        while True:
            runner = JobRunner(runtime, registry, FAST_RETRIES, only_jobs=only)
            await runner.run(until_idle=True)
            left = [job for job in await _unfinished(runtime) if only is None or job.id in only]
            if not left:
                return
            await asyncio.sleep(0.02)


async def _unfinished(runtime: Runtime) -> list[JobInfo]:
    async with runtime.uow(read_only=True) as uow:
        found: list[JobInfo] = []
        for status in (JobStatus.QUEUED, JobStatus.RUNNING):
            found += (await list_jobs(uow, status=status, kind="monitoring.notify")).items
        return found


async def job_of(runtime: Runtime, notification_id: str) -> JobInfo:
    async with runtime.uow(read_only=True) as uow:
        job = await find_job_by_key(uow, f"notify:{notification_id}")
    assert job is not None
    return job


async def log_of(runtime: Runtime, channel: str | None = None) -> list[LogEntry]:
    """The notification log, oldest first."""
    page = await service.notification_log(runtime.uow(read_only=True), channel=channel, limit=500)
    return page.items[::-1]


async def notification_events(runtime: Runtime) -> list[tuple[str, str, dict[str, Any]]]:
    """The ``notification.*`` events: (type, subject, payload), oldest first."""
    async with runtime.uow(read_only=True) as uow:
        found = await read_events(
            uow.session, only=EventFilter(types=("notification.*",)), limit=1000
        )
    return [(event.type, event.subject, dict(event.payload)) for event in found]


# --- SMTP -----------------------------------------------------------------------------


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps each message and can refuse the next few."""

    messages: list[Envelope] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)

    async def handle_DATA(  # noqa: N802 - the name aiosmtpd calls
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
