"""Typed events: declared once per wire type, stored as plain payloads, read back typed."""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

import orchestrate
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events import DomainEvent, Event, EventFilter, declared_types, decode
from orchestrate.pipelines.events import RUN_STATUS_EVENTS, RunFailed, StepFailed
from orchestrate.pipelines.models import RunStatus
from orchestrate.stories.events import StoryStatusChanged

DOCS = Path(__file__).parents[3] / "docs" / "events.md"
AT = datetime(2026, 12, 6, tzinfo=UTC)


def stored(event: DomainEvent, event_id: int = 1) -> Event:
    return Event(
        event_id, event.event_type, event.subject, event.payload(), AT, event.schema_version
    )


def all_event_modules() -> list[str]:
    names = [
        module.name
        for module in pkgutil.walk_packages(orchestrate.__path__, "orchestrate.")
        if module.name.endswith(".events") and not module.name.startswith("orchestrate.core")
    ]
    return [*names, "orchestrate.core.jobs.events"]


def test_a_payload_keeps_its_wire_names_and_leaves_out_unset_optionals() -> None:
    event = StepFailed(subject="run_1", step="test", from_="running", to="failure", error="x")
    assert event.payload() == {"step": "test", "from": "running", "to": "failure", "error": "x"}
    assert event.event_type == "pipeline.step.failure"


def test_a_stored_event_decodes_to_the_typed_event_it_was_written_as() -> None:
    event = StoryStatusChanged(subject="story_1", from_="backlog", to="ready", reason="manual")
    assert decode(stored(event)) == event


def test_an_unknown_type_a_different_version_or_a_broken_payload_decodes_to_the_stored_event() -> (
    None
):
    unknown = Event(1, "someone.else", "x", {"a": 1}, AT)
    newer = Event(2, "pipeline.run.failure", "run_1", {"pipeline": "p", "from": "x"}, AT, 2)
    broken = Event(3, "pipeline.run.failure", "run_1", {"from": "running"}, AT)
    for event in (unknown, newer, broken):
        assert decode(event) is event


def test_every_status_a_run_can_enter_has_its_event() -> None:
    assert set(RUN_STATUS_EVENTS) == set(RunStatus) - {RunStatus.QUEUED}
    assert RUN_STATUS_EVENTS[RunStatus.FAILURE] is RunFailed


def test_declaring_a_wire_type_twice_is_refused() -> None:
    with pytest.raises(TypeError, match="declared twice"):

        class Another(DomainEvent):  # pipeline.run.failure is RunFailed's
            event_type: ClassVar[str] = "pipeline.run.failure"


def test_every_declared_event_type_is_documented_with_its_payload_fields() -> None:
    for name in all_event_modules():
        importlib.import_module(name)
    docs = DOCS.read_text()
    missing = []
    for wire, declared in declared_types().items():
        if wire.startswith("test."):
            continue
        row = re.search(rf"^\| `{re.escape(wire)}` \|.*$", docs, re.MULTILINE)
        fields = [field.alias or name for name, field in declared.model_fields.items()]
        if row is None or not all(f"`{f}`" in row.group(0) for f in fields if f != "subject"):
            missing.append(wire)
    assert missing == []


class TestFilters:
    @pytest.mark.parametrize(
        ("pattern", "event_type", "matches"),
        [
            ("story.created", "story.created", True),
            ("story.created", "story.created_twice", False),
            ("pipeline.*", "pipeline.step.log", True),
            ("pipeline.*", "pipelines.x", False),
            ("pipeline.step.*", "pipeline.run.queued", False),
            ("*", "anything.at_all", True),
        ],
    )
    def test_a_type_filter_is_exact_or_a_prefix(
        self, pattern: str, event_type: str, matches: bool
    ) -> None:
        event = Event(1, event_type, "s", {}, AT)
        assert EventFilter(types=(pattern,)).matches(event) is matches

    def test_a_subject_filter_and_several_types_combine(self) -> None:
        only = EventFilter(types=("story.*", "epic.created"), subject="a")
        assert only.matches(Event(1, "epic.created", "a", {}, AT))
        assert not only.matches(Event(1, "epic.created", "b", {}, AT))
        assert not only.matches(Event(1, "epic.updated", "a", {}, AT))

    @pytest.mark.parametrize("pattern", ["", "Pipeline.*", "pipeline*", "a..b", "a.*.b", "%"])
    def test_a_malformed_type_filter_is_refused(self, pattern: str) -> None:
        with pytest.raises(ValidationFailed, match="Invalid event type filter"):
            EventFilter(types=(pattern,))
