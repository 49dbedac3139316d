"""Hostile YAML is refused, with a position, by every loader built on core.bounded_yaml.

How fast is measured by bench/hostile_yaml.py (docs/benchmarks.md), not here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents.definitions import parse_definition
from orchestrate.core.bounded_yaml import YamlLimitExceeded, YamlLimits, load_bounded
from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.pipelines.spec.loader import check_pipeline
from orchestrate.stories.story_file import parse_story_file


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": each level lists the previous one nine times."""
    lines = ["a: &a [x,x,x,x,x,x,x,x,x]"]
    for level in range(1, levels):
        previous, current = chr(ord("a") + level - 1), chr(ord("a") + level)
        lines.append(f"{current}: &{current} [{','.join(['*' + previous] * 9)}]")
    return "\n".join(lines) + "\n"


def test_the_alias_bomb_is_refused_at_the_alias_that_crosses_the_limit() -> None:
    problems = check_pipeline(alias_bomb(), "bomb.yml")

    [problem] = problems
    assert "expands to more than 100000 values" in problem.message
    assert (problem.file, problem.line) == ("bomb.yml", 6)


@pytest.mark.parametrize(
    "deep",
    [
        "a: " + "[" * 10_000 + "]" * 10_000,
        "a: " + "{a: " * 10_000 + "}" * 10_000,
        "a:\n" + "- " * 10_000 + "x",
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences"],
)
def test_a_ten_thousand_deep_document_is_refused_without_a_recursion_error(deep: str) -> None:
    [problem] = check_pipeline(deep, "deep.yml")

    assert problem.message == "invalid YAML: values nest more than 64 levels deep"


def test_a_document_over_the_size_limit_is_refused_before_parsing() -> None:
    with pytest.raises(YamlLimitExceeded, match="more than the limit of 100"):
        load_bounded("a: b\n" * 30, limits=YamlLimits(max_bytes=100))


def test_aliases_within_the_limits_load_as_usual() -> None:
    data = load_bounded("base: &base {image: python}\nother: *base\n", typ="safe")

    assert data == {"base": {"image": "python"}, "other": {"image": "python"}}


def test_agent_front_matter_with_an_alias_bomb_is_a_validation_error_with_its_line() -> None:
    text = "---\n" + alias_bomb(6) + "---\nYou explore.\n"

    with pytest.raises(ValidationFailed, match=r"explorer\.md:6: .*expands to more than 10000"):
        parse_definition(text, Path("explorer.md"))


def test_story_front_matter_nested_too_deep_is_a_parse_error_not_a_recursion_error() -> None:
    text = "---\npriority: " + "[" * 10_000 + "]" * 10_000 + "\n---\n# A story\n"

    with pytest.raises(OrchestrateError, match="nest more than 64 levels"):
        parse_story_file(text, "story.md")
