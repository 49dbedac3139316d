"""The story pages' forms and views: typed text into drafts and changes, refusals beside
their fields, history in words, windows of whole lists."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.datastructures import FormData

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.events import Event
from orchestrate.dashboard.pages.story_forms import (
    RunForm,
    StoryForm,
    criteria_of,
    criteria_text,
    field_errors,
)
from orchestrate.dashboard.pages.story_views import (
    assigned_agent,
    history_entry,
    pull_request_path,
    window,
)
from orchestrate.stories import AcceptanceCriterion, Priority


def test_criteria_are_one_a_line_and_a_ticked_box_marks_one_met() -> None:
    typed = "Plain\n\n  [x] Ticked\n- [ ] Open box\n- [X] Markdown tick\n* bullet\n"

    criteria = criteria_of(typed)

    assert criteria == (
        AcceptanceCriterion("Plain"),
        AcceptanceCriterion("Ticked", done=True),
        AcceptanceCriterion("Open box"),
        AcceptanceCriterion("Markdown tick", done=True),
        AcceptanceCriterion("bullet"),
    )
    assert criteria_of(criteria_text(criteria)) == criteria


def test_a_posted_form_keeps_what_was_typed_and_becomes_the_api_s_draft() -> None:
    form = StoryForm.posted(
        FormData(
            [
                ("title", " Refund "),
                ("labels", "a, ,B,"),
                ("epic", " "),
                ("priority", "high"),
                ("assignee", "  "),
                ("unknown", "ignored"),
            ]
        )
    )

    draft = form.draft()

    assert form.title == " Refund "  # shown again as typed
    assert (draft.title, draft.labels, draft.epic_id, draft.assignee) == (
        " Refund ",
        ("a", "B"),
        None,
        None,
    )
    assert draft.priority is Priority.HIGH
    assert form.changes().depends_on == ()


def test_an_unknown_priority_is_refused_on_its_field() -> None:
    with pytest.raises(ValidationFailed) as refused:
        StoryForm(title="x", priority="urgent").draft()

    assert field_errors(refused.value, StoryForm.names()) == {
        "priority": "Choose a priority: one of low, medium, high, critical"
    }


def test_a_refusal_without_a_field_of_the_form_goes_above_it() -> None:
    assert field_errors(ValidationFailed("Odd", field="limit"), StoryForm.names()) == {"": "Odd"}
    assert field_errors(ValidationFailed("No epic", field="epic_id"), StoryForm.names()) == {
        "epic": "No epic"
    }


@pytest.mark.parametrize("typed", ["soon", "-1", "1.5", "1234567"])
def test_run_limits_must_be_whole_numbers(typed: str) -> None:
    with pytest.raises(ValidationFailed, match="whole number"):
        RunForm(stuck_minutes=typed).number("stuck_minutes")
    assert RunForm(stuck_minutes=" 30 ").number("stuck_minutes") == 30
    assert RunForm().number("max_attempts") is None


def test_an_agent_assignee_and_a_pull_request_lead_to_their_pages() -> None:
    assert assigned_agent("agent:agt_1") == "agt_1"
    assert assigned_agent("alice") is None
    assert assigned_agent("agent:") is None
    assert assigned_agent(None) is None
    assert pull_request_path("octo/app", 7) == "/ui/pull-requests/octo/app/7"
    assert pull_request_path("group/sub group/app", 2) == (
        "/ui/pull-requests/group/sub%20group/app/2"
    )


def event(event_type: str, **payload: object) -> Event:
    return Event(1, event_type, "story_1", dict(payload), datetime(2025, 1, 1, tzinfo=UTC))


def test_history_says_what_each_event_did() -> None:
    assert history_entry(event("story.created", title="T", status="backlog")).summary == (
        "Created in backlog: T"
    )
    assert history_entry(event("story.updated", fields=["title", "labels"])).summary == (
        "Changed title, labels"
    )
    moved = history_entry(
        event(
            "story.status_changed",
            **{"from": "in_progress", "to": "blocked", "reason": "agent"},
            agent_id="agt_9",
            detail="needs a key",
        )
    )
    assert moved.summary == "in_progress → blocked, agent: needs a key"
    assert moved.agent_id == "agt_9"
    assert history_entry(event("story.other", b=2, a="x")).summary == "a: x; b: 2"


def test_a_window_pages_a_whole_list_after_the_item_it_names() -> None:
    items = [str(n) for n in range(5)]

    assert window(items, str, None, 2) == (["0", "1"], "1", 0)
    assert window(items, str, "1", 2) == (["2", "3"], "3", 2)
    assert window(items, str, "3", 2) == (["4"], None, 4)
    with pytest.raises(ValidationFailed, match="no longer in the list"):
        window(items, str, "9", 2)
