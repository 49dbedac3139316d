"""Every rule finds its documented format and leaves its near miss alone.

Parametrised over ``RULES``: a rule added without an example in the corpus generator
(``orchestrate.testing.secrets_corpus``) fails here.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from orchestrate.security.models import Severity
from orchestrate.security.secrets import RULES, Rule, SecretsConfig, scan_tree
from orchestrate.testing.secrets_corpus import near_miss, positive, rule_ids

RULE_IDS = [rule.id for rule in RULES]


def _scan(tmp_path: Path, name: str, text: str) -> list[tuple[str, int | None]]:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return [
        (finding.rule_id, finding.location.start_line)
        for finding in scan_tree(tmp_path, SecretsConfig())
    ]


def test_every_rule_has_examples_in_the_corpus_generator() -> None:
    assert set(RULE_IDS) == set(rule_ids())


@pytest.mark.parametrize("rule", RULES, ids=RULE_IDS)
def test_a_rule_describes_itself_for_reports(rule: Rule) -> None:
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", rule.id)
    assert rule.title
    assert rule.description in rule.help_text
    assert isinstance(rule.severity, Severity)


@pytest.mark.parametrize("rule_id", RULE_IDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_rule_finds_its_documented_format(tmp_path: Path, rule_id: str, seed: int) -> None:
    example = positive(rule_id, random.Random(seed))

    found = _scan(tmp_path, f"example{example.suffix}", example.text + "\n")

    assert (f"secrets/{rule_id}", example.secret_line) in found


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_a_near_miss_of_a_rule_is_not_reported(tmp_path: Path, rule_id: str) -> None:
    example = near_miss(rule_id, random.Random(5))

    assert _scan(tmp_path, f"near_miss{example.suffix}", example.text + "\n") == []
