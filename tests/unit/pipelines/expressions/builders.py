"""Contexts shaped like GitHub's, shared by the expression tests."""

from __future__ import annotations

from typing import Any

from orchestrate.pipelines.expressions import parse


def make_context(**overrides: Any) -> dict[str, Any]:
    """A run's contexts: an issue event with labels, two steps, a job output holding JSON."""
    context: dict[str, Any] = {
        "github": {
            "ref": "refs/heads/main",
            "event_name": "push",
            "event": {
                "issue": {"labels": [{"name": "bug"}, {"name": "help wanted"}]},
                "issues": [
                    {"labels": [{"name": "bug"}, {"name": "ui"}]},
                    {"labels": [{"name": "docs"}]},
                    {"title": "no labels"},
                ],
            },
        },
        "steps": {
            "build": {"outcome": "success", "conclusion": "success", "outputs": {"n": "3"}},
            "demo": {"outcome": "failure", "conclusion": "failure", "outputs": {}},
        },
        "needs": {
            "plan": {"outputs": {"matrix": '{"include": [{"project": "foo"}]}', "list": "[1, 2]"}}
        },
        "inputs": {"name": "Mona", "count": 3, "ratio": 0.5, "flag": True, "empty": ""},
        "env": {"time": "3", "continue": "true"},
        "fruits": [
            {"name": "apple", "quantity": 1},
            {"name": "orange", "quantity": 2},
            {"name": "pear", "quantity": 1},
        ],
    }
    context.update(overrides)
    return context


def evaluate(text: str, **overrides: Any) -> Any:
    """Parse and evaluate ``text`` against ``make_context(**overrides)``."""
    return parse(text).evaluate(make_context(**overrides))
