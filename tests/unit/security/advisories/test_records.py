"""OSV records read defensively, and their severity on our scale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrate.security.advisories.archive import read_documents
from orchestrate.security.advisories.records import MAX_DETAILS, RecordRejected, read_record
from orchestrate.security.advisories.severity import UNSTATED, band, base_score, score
from orchestrate.security.models import Severity

OSV = Path(__file__).parents[3] / "fixtures" / "security" / "osv"


def fixture(name: str) -> object:
    return json.loads((OSV / name).read_text())


def test_a_pysec_record_with_its_cvss_vector() -> None:
    advisory = read_record(fixture("PYSEC-2023-74.json"))

    assert advisory.id == "PYSEC-2023-74"
    assert advisory.aliases == ("CVE-2023-32681", "GHSA-j8r2-6x86-q33q")
    assert advisory.severity.score == 6.1
    assert advisory.severity.severity is Severity.MEDIUM
    [package] = advisory.affected
    assert (package.ecosystem, package.name) == ("PyPI", "requests")
    assert package.ranges[0].events[1].version == "2.31.0"


def test_pypi_names_in_records_are_normalised() -> None:
    advisory = read_record(fixture("GHSA-h5c8-rqwp-cp95.json"))

    assert advisory.affected[0].name == "jinja2"


def test_a_yaml_record_of_the_pypa_database_reads_like_json() -> None:
    [document] = list(read_documents(OSV / "PYSEC-2021-142.yaml"))

    advisory = read_record(document.content)

    assert advisory.severity.severity is Severity.CRITICAL
    assert advisory.affected[0].versions == ("3.10", "5.3", "5.3.1")
    assert advisory.modified.tzinfo is not None


def test_withdrawn_is_kept() -> None:
    assert read_record(fixture("GHSA-withdrawn-urllib3.json")).withdrawn is not None


def test_details_are_capped() -> None:
    record = dict(fixture("GO-2023-1571.json"))  # type: ignore[call-overload]
    record["details"] = "x" * (MAX_DETAILS * 3)

    assert len(read_record(record).details) == MAX_DETAILS


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"modified": "2024-01-01T00:00:00Z"},
        {"id": "X-1"},
        {"id": "X-1", "modified": "yesterday"},
    ],
)
def test_a_record_without_id_or_modified_is_rejected(document: object) -> None:
    with pytest.raises(RecordRejected):
        read_record(document)


def test_fields_of_the_wrong_type_are_dropped_not_fatal() -> None:
    advisory = read_record(
        {
            "id": "X-1",
            "modified": "2024-01-01T00:00:00Z",
            "aliases": "CVE-1",
            "affected": [
                {"package": "nope"},
                {
                    "package": {"ecosystem": "npm", "name": "a"},
                    "ranges": [{"type": "SEMVER", "events": [{"introduced": ["0"]}]}],
                },
            ],
            "severity": [{"type": "CVSS_V3", "score": "garbage"}],
        }
    )

    assert advisory.aliases == ()
    assert [p.name for p in advisory.affected] == ["a"]
    assert advisory.affected[0].ranges[0].events == ()
    assert advisory.severity.severity is UNSTATED


class TestSeverity:
    def test_cvss_v3_bands(self) -> None:
        assert band(9.8) is Severity.CRITICAL
        assert band(7.0) is Severity.HIGH
        assert band(6.9) is Severity.MEDIUM
        assert band(0.1) is Severity.LOW
        assert band(0.0) is Severity.INFO

    def test_a_vector_wins_over_the_database_word(self) -> None:
        scored = score([("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")], "LOW")

        assert (scored.severity, scored.score) == (Severity.CRITICAL, 9.8)

    def test_cvss_v4_and_v2_are_scored(self) -> None:
        v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
        assert base_score("CVSS_V4", v4) == 9.3
        assert base_score("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P") == 7.5

    def test_github_words_without_a_vector(self) -> None:
        assert score([], "MODERATE").severity is Severity.MEDIUM
        assert score([], "CRITICAL").severity is Severity.CRITICAL

    def test_nothing_said_is_medium(self) -> None:
        assert score([], None).severity is Severity.MEDIUM
