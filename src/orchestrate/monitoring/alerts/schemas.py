"""Request and response models of the alerts, silences and alert rules API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.monitoring.alerts.models import (
    Alert,
    AlertState,
    RuleSpec,
    Silence,
    format_duration,
)


class AlertOut(BaseModel):
    id: str
    rule: str
    state: AlertState
    fingerprint: str = Field(description="The same rule and labels always give the same one.")
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float = Field(description="The metric's value at the last evaluation it was active.")
    active_at: datetime = Field(description="When the condition started to hold.")
    fired_at: datetime | None
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    suppressed_by: str | None = Field(
        description="A silence's id, or 'inhibited', while notifications are held back."
    )

    @classmethod
    def of(cls, alert: Alert) -> AlertOut:
        return cls(
            id=alert.id,
            rule=alert.rule,
            state=alert.state,
            fingerprint=alert.fingerprint,
            labels=alert.labels,
            annotations=alert.annotations,
            value=alert.value,
            active_at=alert.active_at,
            fired_at=alert.fired_at,
            resolved_at=alert.resolved_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=alert.acknowledged_by,
            suppressed_by=alert.suppressed_by,
        )


class SilenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(
        min_length=1,
        max_length=30,
        examples=[["team=platform", "alertname=~pipeline-.*"]],
        description="Every one must match an alert's labels: =, !=, =~ or !~.",
    )
    duration: str = Field(max_length=20, examples=["2h"], description="How long: 30m, 2h, 1d.")
    comment: str = Field("", max_length=2000)
    starts_at: datetime | None = Field(None, description="Default: now.")


class SilenceOut(BaseModel):
    id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    state: str = Field(description="pending, active or expired.")
    comment: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, silence: Silence, now: datetime) -> SilenceOut:
        return cls(
            id=silence.id,
            matchers=[str(m) for m in silence.matchers],
            starts_at=silence.starts_at,
            ends_at=silence.ends_at,
            state=silence.state_at(now),
            comment=silence.comment,
            created_by=silence.created_by,
            created_at=silence.created_at,
        )


class AlertRuleOut(BaseModel):
    name: str
    source: str
    metric: str
    window: str
    by: list[str]
    condition: str
    for_: str = Field(alias="for", serialization_alias="for")
    keep_firing_for: str
    severity: str
    labels: dict[str, str]
    annotations: dict[str, str]
    notify: list[str]

    model_config = ConfigDict(populate_by_name=True)

    @classmethod
    def of(cls, source: str, rule: RuleSpec) -> AlertRuleOut:
        return cls(
            name=rule.name,
            source=source,
            metric=rule.metric,
            window=format_duration(rule.window),
            by=list(rule.by),
            condition=rule.condition,
            for_=format_duration(rule.for_),
            keep_firing_for=format_duration(rule.keep_firing_for),
            severity=rule.severity.value,
            labels=rule.labels,
            annotations=rule.annotations,
            notify=list(rule.notify),
        )


class AlertRulesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1,
        max_length=200,
        examples=["team-platform"],
        description="Its name: "
        "applying the same source again replaces its rules, routes and inhibit rules.",
    )
    yaml: str = Field(max_length=1_000_000, description="An alerts file (docs/alerts.md).")


class AlertRulesAppliedOut(BaseModel):
    source: str
    rules: list[str]
    routes: int
    inhibit_rules: int
