"""The planner's rules: dependency order, who waits, who is skipped or blocked, when a run ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrate.autonomy import planning
from orchestrate.autonomy.models import EpicRunStatus, StoryPhase
from orchestrate.core.errors import ValidationFailed
from orchestrate.stories.models import StoryStatus

P = StoryPhase


def facts(
    story_id: str,
    *depends_on: str,
    status: StoryStatus = StoryStatus.READY,
    phase: StoryPhase = P.PENDING,
) -> planning.StoryFacts:
    return planning.StoryFacts(story_id, story_id, status, depends_on, phase)


def test_the_order_keeps_the_epics_order_but_puts_dependencies_first() -> None:
    stories = [facts("a", "c"), facts("b"), facts("c")]
    assert planning.run_order(stories) == ["b", "c", "a"]


def test_a_dependency_cycle_is_refused_naming_it() -> None:
    with pytest.raises(ValidationFailed, match="a → b → a"):
        planning.run_order([facts("a", "b"), facts("b", "a")])


def test_one_story_starts_at_a_time_and_the_rest_wait_for_their_turn() -> None:
    decisions = planning.plan([facts("a"), facts("b")], may_start=True)
    assert decisions == [planning.Start("a"), planning.Wait("b", "its turn")]


def test_a_story_waits_for_its_dependency_to_be_done() -> None:
    decisions = planning.plan([facts("a", phase=P.AWAITING_MERGE), facts("b", "a")], may_start=True)
    assert decisions == [planning.Wait("b", "story a to be done")]


def test_a_paused_run_starts_nothing() -> None:
    assert planning.plan([facts("a")], may_start=False) == [planning.Wait("a", "its turn")]


def test_done_and_cancelled_stories_are_skipped_and_dependents_of_cancelled_ones_blocked() -> None:
    decisions = planning.plan(
        [
            facts("a", status=StoryStatus.DONE),
            facts("b", status=StoryStatus.CANCELLED, phase=P.SKIPPED),
            facts("c", "b"),
            facts("d", "a"),
        ],
        may_start=True,
    )
    assert decisions[0] == planning.Skip("a", "done before the run reached it")
    assert decisions[1] == planning.Block("c", "depends on story b, which was cancelled")
    assert decisions[2] == planning.Start("d")


def test_a_blocked_dependency_blocks_its_dependents_and_others_go_on() -> None:
    decisions = planning.plan(
        [facts("a", phase=P.BLOCKED), facts("b", "a"), facts("c")], may_start=True
    )
    assert decisions == [
        planning.Block("b", "depends on story a, which is blocked"),
        planning.Start("c"),
    ]


@pytest.mark.parametrize(
    ("phases", "ended"),
    [
        ([P.DONE, P.SKIPPED], EpicRunStatus.COMPLETED),
        ([P.DONE, P.BLOCKED], EpicRunStatus.COMPLETED_WITH_BLOCKED),
        ([P.DONE, P.PENDING], None),
        ([P.REVIEWING], None),
    ],
)
def test_a_run_ends_once_every_story_is_settled(
    phases: list[StoryPhase], ended: EpicRunStatus | None
) -> None:
    assert planning.outcome(phases) is ended


def test_stuck_means_nothing_moved_for_longer_than_the_limit() -> None:
    start = datetime(2026, 12, 6, tzinfo=UTC)
    limit = timedelta(minutes=30)
    assert not planning.is_stuck(start, start + limit, limit)
    assert planning.is_stuck(start, start + limit + timedelta(seconds=1), limit)
    moved = planning.last_progress(start, start + timedelta(minutes=20), None)
    assert not planning.is_stuck(moved, start + timedelta(minutes=40), limit)


def test_attempts_run_out_at_the_maximum() -> None:
    assert planning.may_retry(2, 3)
    assert not planning.may_retry(3, 3)
