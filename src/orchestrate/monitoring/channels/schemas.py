"""Request and response models of the notification channels API (and ``--json``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.monitoring.channels.models import (
    Channel,
    ChannelOptions,
    ChannelType,
    LogEntry,
    Outcome,
)


class ChannelOut(BaseModel):
    """A channel: its settings and the names of its secrets, never their values."""

    name: str
    type: ChannelType
    target: str = Field(description="Where it sends (no credential).")
    config: dict[str, object] = Field(description="Settings that are not secret.")
    secrets: dict[str, str] = Field(description="Role → name of the stored secret it uses.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        return cls(
            name=channel.name,
            type=channel.type,
            target=channel.target,
            config=channel.config,
            secrets=channel.secrets,
            created_at=channel.created_at,
            updated_at=channel.updated_at,
        )


class ChannelAddedOut(ChannelOut):
    signing_key: str | None = Field(
        default=None,
        description="Only when the channel is a webhook added without a signing secret: "
        "the key generated for it, shown this once so the receiver can verify signatures.",
    )


class ChannelIn(BaseModel):
    """``POST /api/monitoring/channels``: the options of ``orchestrate notify add``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(max_length=63, examples=["ops-hook"])
    type: ChannelType
    url: str | None = Field(
        default=None,
        max_length=2000,
        description="webhook: where to POST; slack: the incoming-webhook URL (stored as a "
        "secret); pagerduty: the Events API base (default https://events.pagerduty.com).",
    )
    signing_secret: str | None = Field(default=None, max_length=100)
    routing_key_secret: str | None = Field(default=None, max_length=100)
    routing_key: str | None = Field(
        default=None, max_length=200, description="pagerduty: the key itself, stored as a secret."
    )
    smtp_host: str | None = Field(default=None, max_length=255)
    smtp_port: int | None = None
    starttls: bool = False
    username: str | None = Field(default=None, max_length=255)
    password_secret: str | None = Field(default=None, max_length=100)
    from_: str | None = Field(default=None, alias="from", max_length=320)
    to: list[str] = Field(default=[], max_length=50)

    def options(self) -> ChannelOptions:
        return ChannelOptions(
            name=self.name,
            type=self.type,
            url=self.url,
            signing_secret=self.signing_secret,
            routing_key_secret=self.routing_key_secret,
            routing_key=self.routing_key,
            smtp_host=self.smtp_host,
            smtp_port=self.smtp_port,
            starttls=self.starttls,
            username=self.username,
            password_secret=self.password_secret,
            sender=self.from_,
            recipients=tuple(self.to),
        )


class TestSentOut(BaseModel):
    channel: str
    notification_id: str
    ok: bool
    detail: str


class LogEntryOut(BaseModel):
    id: int
    channel: str
    notification_id: str
    group_key: str
    status: str
    sent_at: datetime
    attempt: int
    outcome: Outcome
    error: str | None

    @classmethod
    def of(cls, entry: LogEntry) -> LogEntryOut:
        return cls(
            id=entry.id,
            channel=entry.channel,
            notification_id=entry.notification_id,
            group_key=entry.group_key,
            status=entry.status,
            sent_at=entry.sent_at,
            attempt=entry.attempt,
            outcome=entry.outcome,
            error=entry.error,
        )
