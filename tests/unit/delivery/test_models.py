"""What Orchestrate writes into a pull request: titles from people's words, the model's
summary shown as inert text, labels once each."""

from __future__ import annotations

from orchestrate.delivery.models import (
    TITLE_MAX_LENGTH,
    ShepherdStatus,
    StoryRef,
    checks_as_judged,
    pull_request_body,
    pull_request_labels,
    pull_request_title,
)

STORY = StoryRef(id="story_1", key="1.2", title="Addition adds")


class TestTitle:
    def test_a_story_gives_its_key_and_title(self) -> None:
        assert pull_request_title(STORY, "ignored") == "1.2: Addition adds"

    def test_without_a_story_the_tasks_first_line(self) -> None:
        assert pull_request_title(None, "\n  Fix the build \nthen more") == "Fix the build"

    def test_a_long_or_odd_title_is_one_bounded_line(self) -> None:
        title = pull_request_title(None, "x\x00y " + "z" * 400)
        assert len(title) == TITLE_MAX_LENGTH
        assert "\x00" not in title
        assert title.endswith("…")


class TestBody:
    def test_the_summary_cannot_close_its_fence(self) -> None:
        hostile = "done\n```\n<img src=x onerror=alert(1)> @org/team\n````"

        body = pull_request_body(
            story=STORY, agent_id="agent_1", agent_type="story-developer", masked_summary=hostile
        )

        fence = "`````"  # longer than any run of backticks in the summary
        assert f"{fence}text\n{hostile}\n{fence}" in body
        assert "Story 1.2: Addition adds (`story_1`)" in body
        assert "orchestrate agent show agent_1" in body

    def test_no_summary_no_block(self) -> None:
        body = pull_request_body(
            story=None, agent_id="agent_1", agent_type="t", masked_summary="  "
        )
        assert "```" not in body


def test_labels_start_with_orchestrate_and_appear_once() -> None:
    assert pull_request_labels(["bot", "orchestrate", " ", "bot"]) == ("orchestrate", "bot")


class TestChecksAsJudged:
    def test_a_wait_names_the_checks_it_waits_for(self) -> None:
        status = ShepherdStatus(
            move="wait", reason="0 approval(s) of 1 required; checks pending: test, lint"
        )
        assert checks_as_judged(status) == "checks pending: test, lint"

    def test_a_fixer_of_checks_names_the_failed_ones(self) -> None:
        status = ShepherdStatus(move="fix_checks", reason="checks failed: test")
        assert checks_as_judged(status) == "checks failed: test"

    def test_a_wait_or_merge_without_a_check_clause_saw_them_green(self) -> None:
        waiting = ShepherdStatus(move="wait", reason="0 approval(s) of 1 required")
        merging = ShepherdStatus(move="merge", reason="approved, checks green: merging")
        assert checks_as_judged(waiting) == "none failing or pending"
        assert checks_as_judged(merging) == "none failing or pending"

    def test_a_look_that_stopped_before_the_checks_does_not_tell(self) -> None:
        assert checks_as_judged(ShepherdStatus(move="resolve_conflicts", reason="x")) is None
        assert checks_as_judged(ShepherdStatus(move="fix_review", reason="1 thread")) is None
        assert checks_as_judged(ShepherdStatus()) is None
