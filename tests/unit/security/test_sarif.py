"""SARIF output: valid against the official schema, stable where code scanning needs it."""

from __future__ import annotations

import json
from dataclasses import replace

from orchestrate.security.models import Location, Severity
from orchestrate.security.sarif import (
    FINGERPRINT_KEY,
    RuleDescriptor,
    SarifInput,
    ToolNotice,
    to_sarif,
)
from tests.unit.security.findings import (
    dependency_finding,
    every_kind,
    license_finding,
    sast_finding,
    secret_finding,
)
from tests.unit.security.sarif_schema import assert_valid_sarif, sarif_validator


def test_every_kind_of_finding_makes_a_valid_log() -> None:
    log = to_sarif(SarifInput(every_kind(), tool_version="1.2.3"))

    assert_valid_sarif(log)
    assert [run["tool"]["driver"]["name"] for run in log["runs"]] == [
        "bandit",
        "orchestrate-licenses",
        "orchestrate-secrets",
        "osv",
    ]
    # JSON round trip: nothing in it that json cannot write.
    assert json.loads(json.dumps(log)) == log


def test_results_carry_rule_ids_fingerprints_and_security_severity() -> None:
    log = to_sarif(SarifInput([secret_finding(), dependency_finding()]))

    by_tool = {run["tool"]["driver"]["name"]: run for run in log["runs"]}
    secret_run = by_tool["orchestrate-secrets"]
    (result,) = secret_run["results"]
    assert result["ruleId"] == "secrets/github-pat"
    assert secret_run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    assert result["partialFingerprints"] == {FINGERPRINT_KEY: secret_finding().fingerprint}
    assert result["level"] == "error"
    rule = secret_run["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "8.0"
    assert "security" in rule["properties"]["tags"]
    assert secret_run["automationDetails"]["id"] == "orchestrate/security/orchestrate-secrets/"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {
        "startLine": 12,
        "endLine": 12,
        "startColumn": 9,
        "endColumn": 49,
        "snippet": {"text": "ghp_…"},
    }
    (dependency,) = by_tool["osv"]["results"]
    assert dependency["properties"]["fix"]["to"] == "2.31.0"
    assert dependency["level"] == "warning"


def test_a_moved_finding_keeps_its_fingerprint_and_rule() -> None:
    before = to_sarif(SarifInput([sast_finding(line=4)]))["runs"][0]["results"][0]
    after = to_sarif(SarifInput([sast_finding(line=90)]))["runs"][0]["results"][0]

    assert before["partialFingerprints"] == after["partialFingerprints"]
    assert before["ruleId"] == after["ruleId"]


def test_with_a_baseline_each_result_says_new_or_unchanged() -> None:
    log = to_sarif(SarifInput([secret_finding()], baselined=[sast_finding()], has_baseline=True))

    assert_valid_sarif(log)
    states = {
        run["tool"]["driver"]["name"]: run["results"][0]["baselineState"] for run in log["runs"]
    }
    assert states == {"orchestrate-secrets": "new", "bandit": "unchanged"}


def test_declared_rules_are_used_and_notices_reported() -> None:
    rule = RuleDescriptor(
        id="secrets/github-pat",
        title="GitHub personal access token",
        description="A classic GitHub personal access token (ghp_…).",
        severity=Severity.HIGH,
        category=secret_finding().category,
        help_text="Revoke it at https://github.com/settings/tokens and rotate.",
        help_uri="https://docs.github.com/authentication",
    )
    log = to_sarif(
        SarifInput(
            [secret_finding()],
            rules={rule.id: rule},
            notices=[ToolNotice("semgrep", "semgrep is not installed; skipped", "error")],
        )
    )

    assert_valid_sarif(log)
    runs = {run["tool"]["driver"]["name"]: run for run in log["runs"]}
    declared = runs["orchestrate-secrets"]["tool"]["driver"]["rules"][0]
    assert declared["helpUri"] == "https://docs.github.com/authentication"
    assert declared["help"]["text"].startswith("Revoke it")
    semgrep = runs["semgrep"]["invocations"][0]
    assert semgrep["executionSuccessful"] is False
    assert semgrep["toolExecutionNotifications"][0]["message"]["text"].startswith("semgrep")
    assert runs["semgrep"]["results"] == []


def test_odd_paths_and_locations_stay_valid() -> None:
    odd = replace(
        license_finding(),
        location=Location("dir with space/ünï#code?.txt", None, None, 5, None),
    )
    log = to_sarif(SarifInput([odd]))

    assert_valid_sarif(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "dir%20with%20space/%C3%BCn%C3%AF%23code%3F.txt"
    assert location["region"] == {"startLine": 1, "startColumn": 5}


def test_an_empty_scan_is_a_valid_log_with_no_runs() -> None:
    log = to_sarif(SarifInput([]))

    assert_valid_sarif(log)
    assert log["runs"] == []


def test_the_schema_check_itself_refuses_a_broken_log() -> None:
    log = to_sarif(SarifInput([secret_finding()]))
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["version"]

    errors = list(sarif_validator().iter_errors(log))

    assert len(errors) == 2
