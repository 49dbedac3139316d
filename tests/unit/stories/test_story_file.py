"""Reading a single story from its own markdown file."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories.models import AcceptanceCriterion, Priority
from orchestrate.stories.story_file import parse_story_file

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bmad"


class TestStoryFiles:
    def test_front_matter_title_description_and_criteria_are_read(self) -> None:
        story = parse_story_file((FIXTURES / "story.md").read_text(), "story.md")
        assert story.title == "Lock accounts after repeated failed sign-ins"
        assert story.description.startswith("After five failed sign-ins")
        assert len(story.acceptance_criteria) == 3
        assert (story.epic, story.priority, story.labels, story.assignee) == (
            "1",
            Priority.HIGH,
            ("Backend", "security"),
            "ada",
        )

    def test_a_story_file_without_front_matter_has_no_defaults(self) -> None:
        story = parse_story_file("# Export CSV\n\nDownload the board.\n- [x] Has headers\n", "s.md")
        assert story.title == "Export CSV"
        assert story.acceptance_criteria == (AcceptanceCriterion("Has headers", True),)
        assert (story.epic, story.priority, story.labels, story.assignee) == (None,) * 4

    def test_a_numeric_epic_key_is_read_as_text(self) -> None:
        story = parse_story_file("---\nepic: 2\n---\n# T\n", "s.md")
        assert story.epic == "2"

    @pytest.mark.parametrize(
        ("text", "line", "problem"),
        [
            ("Just text\n", 1, "expected the title heading '# Title'"),
            ("\n\n", 1, "no title"),
            ("---\npriority: high\n# T\n", 1, "never closed"),
            ("---\nowner: ada\n---\n# T\n", 2, "unknown front matter key 'owner'"),
            ("---\nepic: 1\npriority: urgent\n---\n# T\n", 3, "unknown priority 'urgent'"),
            ("---\nlabels: {a: 1}\n---\n# T\n", 2, "labels must be a list of text"),
            ("---\n- a\n---\n# T\n", 2, "front matter must be a mapping"),
            ("---\nepic: [1\n---\n# T\n", 2, "invalid YAML front matter"),
            ("---\nassignee: true\n---\n# T\n", 2, "assignee must be text"),
        ],
    )
    def test_errors_name_file_and_line(self, text: str, line: int, problem: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            parse_story_file(text, "story.md")
        assert str(refused.value).startswith(f"story.md:{line}: ")
        assert problem in str(refused.value)
