"""The shipped Semgrep rules, read as data: every rule is complete and has test cases.
(Whether the rules match their cases is checked by semgrep itself, in
tests/integration/security/sast/test_semgrep.py.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from orchestrate.security.sast import RULES_DIR

CASES = Path(__file__).parents[3] / "fixtures" / "security" / "sast" / "rules"


def _rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for path in sorted(RULES_DIR.glob("*.yaml")):
        rules.extend(YAML(typ="safe", pure=True).load(path.read_text())["rules"])
    return rules


RULES = _rules()


def test_rule_ids_are_unique() -> None:
    ids = [rule["id"] for rule in RULES]

    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: str(rule["id"]))
def test_every_rule_has_a_message_a_severity_and_a_cwe(rule: dict[str, Any]) -> None:
    assert re.fullmatch(r"(python|javascript|go)\.[a-z-]+\.[a-z0-9-]+", rule["id"])
    assert rule["severity"] in {"ERROR", "WARNING", "INFO"}
    assert len(rule["message"]) > 40
    assert re.match(r"CWE-\d+: ", rule["metadata"]["cwe"])


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: str(rule["id"]))
def test_every_rule_has_a_positive_and_a_negative_case(rule: dict[str, Any]) -> None:
    cases = "\n".join(p.read_text() for p in CASES.iterdir())

    assert f"ruleid: {rule['id']}\n" in cases
    assert f"ok: {rule['id']}\n" in cases


@pytest.mark.parametrize(
    ("language", "topic"),
    [
        (language, topic)
        for language in ("python", "javascript", "go")
        for topic in (
            "command-injection",
            "sql-injection",
            "tls",
            "crypto",
            "jwt",
            "path-traversal",
            "ssrf",
            "cors",
        )
    ],
)
def test_each_language_covers_the_main_topics(language: str, topic: str) -> None:
    assert any(rule["id"].startswith(f"{language}.{topic}.") for rule in RULES)


def test_javascript_rules_also_cover_typescript() -> None:
    for rule in RULES:
        if rule["id"].startswith("javascript."):
            assert set(rule["languages"]) == {"javascript", "typescript"}


def test_no_rule_points_at_the_registry() -> None:
    # A rule of ours must never pull rules from the registry (r/..., p/..., URLs).
    text = "\n".join(p.read_text() for p in RULES_DIR.glob("*"))

    assert "semgrep.dev" not in text
    assert not re.search(r"^\s*(include|extends|config):", text, re.MULTILINE)
