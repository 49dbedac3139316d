"""Step outputs are read from $ORCHESTRATE_OUTPUT in GitHub's $GITHUB_OUTPUT format."""

from __future__ import annotations

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.steps.outputs import parse_outputs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", {}),
        ("a=1\n", {"a": "1"}),
        ("a=1\nb=two words\n", {"a": "1", "b": "two words"}),
        ("a=x=y\n", {"a": "x=y"}),
        ("a=\n", {"a": ""}),
        ("a=1\na=2\n", {"a": "2"}),
        ("\n\na=1\n\n", {"a": "1"}),
        ("notes<<EOF\nline 1\nline 2\nEOF\n", {"notes": "line 1\nline 2"}),
        ("notes<<EOF\nEOF\ncount=2\n", {"notes": "", "count": "2"}),
        ('json<<END\n{"a": "b=c"}\nEND\n', {"json": '{"a": "b=c"}'}),
        ("a=b<<c\n", {"a": "b<<c"}),
    ],
)
def test_outputs_are_parsed(text: str, expected: dict[str, str]) -> None:
    assert parse_outputs(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("just text\n", "neither"),
        ("notes<<EOF\nnever closed\n", "never appears"),
        ("notes<<\nx\n", "needs a delimiter"),
        ("bad name=1\n", "not a valid output name"),
    ],
)
def test_malformed_outputs_are_an_error(text: str, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        parse_outputs(text)
