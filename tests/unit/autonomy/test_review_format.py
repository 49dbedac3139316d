"""The reviewer's summary is hostile input: bounded, cleaned, never an approval by accident."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orchestrate.autonomy.review_format import (
    MAX_BODY_LENGTH,
    MAX_COMMENTS,
    Verdict,
    fenced,
    is_safe_path,
    parse_review,
)


def test_the_verdict_line_comments_and_body_are_read() -> None:
    parsed = parse_review(
        "Verdict: request changes\nTwo findings.\n"
        "Comment: src/calc.py:2: blocker: add subtracts\n"
        "Comment: ./tests/test_calc.py:5: nit: name"
    )
    assert parsed.verdict is Verdict.REQUEST_CHANGES
    assert parsed.has_verdict
    assert parsed.body == "Two findings."
    assert [(c.path, c.line, c.body) for c in parsed.comments] == [
        ("src/calc.py", 2, "blocker: add subtracts"),
        ("tests/test_calc.py", 5, "nit: name"),
    ]


def test_approve_with_suggestions_is_an_approval() -> None:
    assert parse_review("**Verdict:** Approve with suggestions").verdict is Verdict.APPROVE


def test_no_readable_verdict_is_a_comment_never_an_approval() -> None:
    for summary in (
        None,
        "",
        "Looks good to me",
        "Verdict: ship it!!",
        "Verdict: approve everything",
    ):
        parsed = parse_review(summary)
        assert parsed.verdict is Verdict.COMMENT
        assert not parsed.has_verdict


def test_the_first_verdict_decides() -> None:
    parsed = parse_review("Verdict: request changes\nVerdict: approve")
    assert parsed.verdict is Verdict.REQUEST_CHANGES
    assert "Verdict: approve" in parsed.body


def test_unsafe_paths_and_bad_lines_are_dropped() -> None:
    parsed = parse_review(
        "Verdict: comment\n"
        "Comment: ../etc/passwd:1: escape\n"
        "Comment: /abs/path.py:1: absolute\n"
        "Comment: src\\\\win.py:1: backslash\n"
        "Comment: src/a.py:0: line zero\n"
        "Comment: src/a.py:3:    \n"
        "Comment: src/ok.py:3: fine"
    )
    assert [(c.path, c.line) for c in parsed.comments] == [("src/ok.py", 3)]
    assert parsed.dropped_comments == 5


def test_comments_are_capped_and_the_body_bounded() -> None:
    lines = [f"Comment: a.py:{n}: x" for n in range(1, MAX_COMMENTS + 10)]
    parsed = parse_review("Verdict: comment\n" + "\n".join(lines) + "\n" + "y" * 100_000)
    assert len(parsed.comments) == MAX_COMMENTS
    assert parsed.dropped_comments == 9
    assert len(parsed.body) <= MAX_BODY_LENGTH


def test_control_and_bidi_characters_are_removed() -> None:
    parsed = parse_review("Verdict: comment\nok\x1b[31m\u202ered\x00")
    assert parsed.body == "ok[31mred"


def test_fenced_text_cannot_close_its_fence() -> None:
    text = fenced("```\n<img src=x onerror=alert(1)>\n~~~")
    assert text.count("```") == 2
    assert "~~~" not in text


@given(st.text(max_size=3000))
def test_any_text_parses_within_bounds(summary: str) -> None:
    parsed = parse_review(summary)
    assert len(parsed.comments) <= MAX_COMMENTS
    assert len(parsed.body) <= MAX_BODY_LENGTH
    assert all(is_safe_path(c.path) for c in parsed.comments)
    assert all(c.line >= 1 for c in parsed.comments)
