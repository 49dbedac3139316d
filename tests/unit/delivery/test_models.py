"""What Orchestrate writes into a pull request: titles from people's words, the model's
summary shown as inert text, labels once each."""

from __future__ import annotations

from orchestrate.delivery.models import (
    TITLE_MAX_LENGTH,
    StoryRef,
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
