"""The story state machine and the rules for clean values."""

from __future__ import annotations

import pytest

from orchestrate.core.errors import InvalidTransition, ValidationFailed
from orchestrate.stories.models import (
    AcceptanceCriterion,
    StoryChanges,
    StoryStatus,
    all_checked,
    allowed_transitions,
    check_transition,
    clean_criteria,
    clean_optional_text,
    clean_title,
    normalise_labels,
)

S = StoryStatus

ALLOWED = {
    (S.BACKLOG, S.READY),
    (S.READY, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.REVIEW),
    (S.REVIEW, S.DONE),
    (S.READY, S.BACKLOG),
    (S.IN_PROGRESS, S.READY),
    (S.REVIEW, S.IN_PROGRESS),
    (S.DONE, S.IN_PROGRESS),
    (S.CANCELLED, S.BACKLOG),
    *((s, S.BLOCKED) for s in (S.BACKLOG, S.READY, S.IN_PROGRESS, S.REVIEW)),
    *((s, S.CANCELLED) for s in (S.BACKLOG, S.READY, S.IN_PROGRESS, S.REVIEW, S.BLOCKED)),
    *((S.BLOCKED, s) for s in (S.BACKLOG, S.READY, S.IN_PROGRESS, S.REVIEW)),
}
ALL_MOVES = [(a, b) for a in StoryStatus for b in StoryStatus if a != b]


class TestStoryTransitions:
    @pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
    def test_documented_moves_are_allowed(self, current: StoryStatus, target: StoryStatus) -> None:
        assert check_transition(current, target) is True

    @pytest.mark.parametrize(
        ("current", "target"), [move for move in ALL_MOVES if move not in ALLOWED]
    )
    def test_every_other_move_is_refused(self, current: StoryStatus, target: StoryStatus) -> None:
        with pytest.raises(InvalidTransition):
            check_transition(current, target)

    @pytest.mark.parametrize("status", list(StoryStatus))
    def test_moving_to_the_same_status_is_a_no_op(self, status: StoryStatus) -> None:
        assert check_transition(status, status) is False

    def test_refusal_names_the_statuses_that_are_allowed(self) -> None:
        with pytest.raises(InvalidTransition) as refused:
            check_transition(S.BACKLOG, S.DONE, subject="story 1.2")
        assert str(refused.value) == (
            "Cannot move story 1.2 from 'backlog' to 'done'; "
            "from 'backlog' it can move to: ready, blocked, cancelled"
        )
        assert refused.value.context["allowed"] == ["ready", "blocked", "cancelled"]

    def test_done_and_cancelled_are_terminal_and_cannot_be_blocked(self) -> None:
        assert S.BLOCKED not in allowed_transitions(S.DONE)
        assert S.BLOCKED not in allowed_transitions(S.CANCELLED)
        assert {s for s in StoryStatus if s.is_terminal} == {S.DONE, S.CANCELLED}


class TestLabels:
    def test_labels_are_trimmed_lower_cased_deduplicated_and_sorted(self) -> None:
        assert normalise_labels(["Backend", " backend ", "BACKEND", "api"]) == ("api", "backend")

    def test_inner_whitespace_collapses_to_one_space(self) -> None:
        assert normalise_labels(["tech \t  debt"]) == ("tech debt",)

    @pytest.mark.parametrize("label", ["", "   ", "x" * 101])
    def test_empty_or_overlong_labels_are_refused(self, label: str) -> None:
        with pytest.raises(ValidationFailed):
            normalise_labels([label])


class TestCleanValues:
    def test_title_is_trimmed(self) -> None:
        assert clean_title("  Sign   up  ") == "Sign up"

    @pytest.mark.parametrize("title", ["", "  \n ", "x" * 501])
    def test_empty_or_overlong_titles_are_refused(self, title: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            clean_title(title)
        assert refused.value.context["field"] == "title"

    def test_blank_criterion_is_refused_with_its_position(self) -> None:
        with pytest.raises(ValidationFailed, match="criterion 2 is empty"):
            clean_criteria([AcceptanceCriterion("ok"), AcceptanceCriterion("  ")])

    def test_blank_assignee_means_unassigned(self) -> None:
        assert clean_optional_text("assignee", "  ") is None
        assert clean_optional_text("assignee", " ada ") == "ada"

    def test_pr_url_must_be_http(self) -> None:
        with pytest.raises(ValidationFailed, match="pr_url must be an http"):
            clean_optional_text("pr_url", "github.com/acme/app/pull/1")

    def test_all_checked_needs_at_least_one_criterion(self) -> None:
        assert all_checked([]) is False
        assert all_checked([AcceptanceCriterion("a", True), AcceptanceCriterion("b", True)])
        assert not all_checked([AcceptanceCriterion("a", True), AcceptanceCriterion("b")])

    def test_changes_with_nothing_set_are_empty(self) -> None:
        assert StoryChanges().is_empty
        assert not StoryChanges(add_labels=("x",)).is_empty
