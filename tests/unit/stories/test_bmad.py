"""Reading and rendering BMAD epic files."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories.bmad import (
    ParsedEpic,
    ParsedStory,
    parse_epic,
    read_epics,
    render_epic,
)
from orchestrate.stories.models import AcceptanceCriterion, StoryStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "bmad"


def _criteria(story: ParsedStory) -> list[tuple[str, bool]]:
    return [(item.text, item.done) for item in story.acceptance_criteria]


class TestEpicFiles:
    def test_epic_title_description_and_stories_are_read(self) -> None:
        epic = read_epics(FIXTURES / "project" / "epic-1.md")[0]
        assert (epic.key, epic.title) == ("1", "Team accounts and sign-in")
        assert epic.description.startswith("Teams need their own accounts")
        assert epic.description.endswith("within ten minutes of signing up.")
        assert [(s.key, s.title) for s in epic.stories] == [
            ("1.1", "Sign up with a work email"),
            ("1.2", "Sign in with a magic link"),
            ("1.3", "Invite colleagues"),
        ]

    def test_checkboxes_become_criteria_and_the_rest_stays_description(self) -> None:
        story = read_epics(FIXTURES / "project" / "epic-1.md")[0].stories[1]
        assert _criteria(story) == [
            ("Requesting a link for a known address sends a mail", True),
            (
                "Links expire after 15 minutes and can be used once; an expired link shows "
                "a page that offers a new one",
                False,
            ),
            (
                "Unknown addresses get the same response as known ones (no account enumeration)",
                False,
            ),
        ]
        assert "Acceptance Criteria" not in story.description
        assert story.description.startswith("As a returning user")

    def test_checkboxes_inside_a_code_fence_are_description(self) -> None:
        story = read_epics(FIXTURES / "project" / "epic-1.md")[0].stories[1]
        assert "- [ ] this is an example inside a code block" in story.description
        assert len(story.acceptance_criteria) == 3

    def test_criteria_without_a_heading_are_read_too(self) -> None:
        story = read_epics(FIXTURES / "project" / "epic-1.md")[0].stories[2]
        assert len(story.acceptance_criteria) == 2

    def test_a_story_with_every_box_ticked_is_done(self) -> None:
        stories = read_epics(FIXTURES / "project" / "epic-1.md")[0].stories
        assert [s.status for s in stories] == [
            StoryStatus.DONE,
            StoryStatus.BACKLOG,
            StoryStatus.BACKLOG,
        ]

    def test_a_story_without_boxes_is_not_done(self) -> None:
        epic = parse_epic("# Epic 3: Ops\n\n## Story 3.1: Alerts\n\nNo boxes yet.\n", "e.md")
        assert epic.stories[0].status is StoryStatus.BACKLOG

    def test_star_bullets_upper_case_x_and_other_separators_are_accepted(self) -> None:
        text = "# Epic 4 - Billing\n## Story 4.1 — Invoices\n* [X] Totals add up\n+ [x] PDF\n"
        epic = parse_epic(text, "e.md")
        assert epic.title == "Billing"
        assert epic.stories[0].title == "Invoices"
        assert epic.stories[0].status is StoryStatus.DONE

    def test_a_folder_import_reads_epic_files_in_natural_order_and_ignores_others(self) -> None:
        epics = read_epics(FIXTURES / "project")
        assert [e.key for e in epics] == ["1", "2", "10"]
        assert [Path(e.file).name for e in epics] == ["epic-1.md", "epic-2.md", "epic-10.md"]


MALFORMED = [
    ("", 1, "no epic heading"),
    ("Intro text\n# Epic 1: A\n", 1, "expected the epic heading '# Epic N: Title' first"),
    ("## Story 1.1: A\n", 1, "comes before the epic heading"),
    ("# Epic 1: A\n\n# Epic 2: B\n", 3, "a second epic heading '# Epic 2: B' (the first is at"),
    ("# Epic 1: A\n## Story 1.1: B\n## Story 2.1: C\n", 3, "'## Story 2.1' does not belong"),
    ("# Epic 1: A\n## Story 1.1: B\n\n## Story 1.1: C\n", 4, "story 1.1 is defined twice"),
    ("# Epic 1: A\n## Story 1.1\n", 2, "heading '## Story 1.1' has no title"),
    ("# Epic 1: A\n## Story 1.1:   \n", 2, "has no title"),
    ("# Epic 1\n", 1, "heading '# Epic 1' has no title"),
    ("# Project plan\n", 1, "expected '# Epic N: Title', found '# Project plan'"),
    ("# Epic 1: A\nWhy.\n- [ ] stray box\n", 3, "checkbox outside any story"),
    ("# Epic 1: A\n## Story 1.1: B\n- [ ]\n", 3, "checkbox without text"),
    ("# Epic 1: A\n## Story one: B\n", 2, "malformed story heading '## Story one: B'"),
    ("# Epic 1: A\n## Notes\n", 2, "unexpected heading '## Notes'"),
    (f"# Epic 1: A\n## Story 1.1: {'x' * 501}\n", 2, "longer than 500 characters"),
]


class TestMalformedEpicFiles:
    @pytest.mark.parametrize(("text", "line", "problem"), MALFORMED)
    def test_error_names_file_and_line(self, text: str, line: int, problem: str) -> None:
        with pytest.raises(ValidationFailed) as refused:
            parse_epic(text, "docs/epic-1.md")
        assert str(refused.value).startswith(f"docs/epic-1.md:{line}: ")
        assert problem in str(refused.value)
        assert refused.value.context == {"file": "docs/epic-1.md", "line": line}

    def test_folder_error_names_the_bad_file(self) -> None:
        with pytest.raises(ValidationFailed) as refused:
            read_epics(FIXTURES / "malformed")
        assert str(refused.value) == (
            f"{FIXTURES / 'malformed' / 'epic-2.md'}:9: "
            "story heading '## Story 3.1' does not belong to epic 2"
        )

    def test_two_files_with_the_same_epic_number_are_refused(self, tmp_path: Path) -> None:
        (tmp_path / "epic-1.md").write_text("# Epic 1: A\n")
        (tmp_path / "epic-1b.md").write_text("\n# Epic 1: Again\n")
        with pytest.raises(ValidationFailed, match=r"epic-1b\.md:2: epic 1 is already defined in"):
            read_epics(tmp_path)

    def test_a_folder_without_epic_files_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationFailed, match=r"no epic-\*\.md files"):
            read_epics(tmp_path)

    def test_a_missing_path_is_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ValidationFailed, match="no such file or folder"):
            read_epics(tmp_path / "nope")

    @given(st.text())
    def test_any_text_either_parses_or_raises_validation_failed(self, text: str) -> None:
        problem: ValidationFailed | None = None
        try:
            parse_epic(text, "fuzz.md")
        except ValidationFailed as error:
            problem = error
        assert problem is None or str(problem).startswith("fuzz.md:")


_word = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=8)
_words = st.lists(_word, min_size=1, max_size=6).map(" ".join)
_title = st.lists(
    st.text(alphabet=string.ascii_letters + string.digits + "',()/-", min_size=1, max_size=8),
    min_size=1,
    max_size=6,
).map(" ".join)
_paragraphs = st.lists(st.one_of(_words, st.just("")), max_size=5).map(
    lambda lines: "\n".join(lines).strip("\n")
)
_criteria_strategy = st.lists(
    st.builds(AcceptanceCriterion, text=_words, done=st.booleans()), max_size=4
).map(tuple)


@st.composite
def _epics(draw: st.DrawFn) -> ParsedEpic:
    number = draw(st.integers(min_value=1, max_value=99))
    story_numbers = draw(st.lists(st.integers(1, 50), unique=True, max_size=5))
    stories = tuple(
        ParsedStory(
            key=f"{number}.{n}",
            title=draw(_title),
            description=draw(_paragraphs),
            acceptance_criteria=draw(_criteria_strategy),
        )
        for n in story_numbers
    )
    return ParsedEpic(str(number), draw(_title), draw(_paragraphs), stories)


class TestRoundTrip:
    @given(_epics())
    def test_rendering_then_parsing_gives_the_same_epic(self, epic: ParsedEpic) -> None:
        assert parse_epic(render_epic(epic), "roundtrip.md") == epic
