"""The baseline accepts findings by content fingerprint, never by line."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.baseline import load_baseline, triage, write_baseline
from orchestrate.security.models import Location
from tests.unit.security.findings import every_kind, sast_finding, secret_finding

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_a_written_baseline_accepts_its_findings_and_nothing_else(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [secret_finding(), sast_finding()], NOW)

    baseline = load_baseline(path)
    result = triage(every_kind(), baseline)

    assert [f.rule_id for f in result.baselined] == ["secrets/github-pat", "bandit/B602"]
    assert [f.rule_id for f in result.new] == ["osv/GHSA-j8r2-6x86-q33q", "license/denied"]


def test_a_finding_that_moved_to_another_line_stays_baselined(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [sast_finding(line=4)], NOW)

    moved = sast_finding(line=40)

    assert triage([moved], load_baseline(path)).new == ()


def test_the_file_holds_no_secret_and_is_sorted(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    findings = every_kind()
    write_baseline(path, [*findings, *findings], NOW)

    text = path.read_text()
    document = json.loads(text)

    assert "ghp_" not in text
    fingerprints = [entry["fingerprint"] for entry in document["findings"]]
    assert fingerprints == sorted(set(fingerprints))
    assert len(fingerprints) == 4
    assert document["version"] == 1


def test_same_rule_elsewhere_with_other_content_is_new(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    write_baseline(path, [secret_finding()], NOW)
    other = replace(secret_finding(), fingerprint="v1:other", location=Location("x.py", 1))

    assert triage([other], load_baseline(path)).new == (other,)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "is not a baseline"),
        ('{"version": 1, "findings": [{"rule_id": "x"}]}', "findings.0.fingerprint"),
        ('{"version": 7, "findings": []}', "version 7"),
        ("[]", "is not a baseline"),
    ],
)
def test_a_malformed_baseline_is_refused_with_its_name(
    tmp_path: Path, content: str, expected: str
) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content)

    with pytest.raises(ValidationFailed, match=expected) as raised:
        load_baseline(path)
    assert str(path) in str(raised.value)


def test_a_missing_baseline_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="security baseline"):
        load_baseline(tmp_path / "nope.json")
