"""Semgrep with our shipped rules, for real. Skipped (saying why) only where semgrep is
not installed; CI installs it with scripts/install-security-tools.sh."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from orchestrate.security.models import Severity
from orchestrate.security.sast import RULES_DIR, NoticeKind, find_semgrep, scan_sast
from orchestrate.security.sast.semgrep_scan import semgrep_environment

SEMGREP = find_semgrep()
pytestmark = pytest.mark.skipif(
    SEMGREP is None, reason="semgrep is not installed (make security-tools installs it)"
)
CASES = Path(__file__).parents[3] / "fixtures" / "security" / "sast" / "rules"


def _semgrep() -> str:
    assert SEMGREP is not None
    return str(SEMGREP)


def test_every_shipped_rule_passes_its_positive_and_negative_cases(tmp_path: Path) -> None:
    # semgrep --test pairs rules/x.yaml with cases x.*; both are copied side by side
    # because Semgrep's default ignore list would skip a folder named tests/. The cases
    # are stored as x.py.case so that this repository's linters leave them alone.
    for rules in RULES_DIR.glob("*.yaml"):
        shutil.copy(rules, tmp_path / rules.name)
    for case in CASES.glob("*.case"):
        shutil.copy(case, tmp_path / case.name.removesuffix(".case"))

    completed = subprocess.run(
        [
            _semgrep(),
            "scan",
            "--test",
            "--json",
            "--metrics=off",
            "--config",
            str(tmp_path),
            str(tmp_path),
        ],
        capture_output=True,
        env=semgrep_environment(),
        timeout=300,
        check=False,
    )

    report = json.loads(completed.stdout)
    assert report["config_missing_tests"] == []
    assert report["config_with_errors"] == []
    checks = {
        rule: check
        for rules in report["results"].values()
        for rule, check in rules["checks"].items()
    }
    failing = {rule: c["matches"] for rule, c in checks.items() if not c["passed"] or c["errors"]}
    assert failing == {}
    assert len(checks) >= 35
    assert completed.returncode == 0, completed.stderr.decode()[-2000:]


def _tree(root: Path) -> Path:
    (root / "web").mkdir(parents=True)
    (root / "web" / "app.js").write_text(
        "const cp = require('child_process');\nfunction run(user) {\n  cp.exec('ls ' + user);\n}\n"
    )
    (root / "svc").mkdir()
    (root / "svc" / "main.go").write_text(
        "package main\n\n"
        'import "crypto/tls"\n\n'
        "var config = &tls.Config{InsecureSkipVerify: true}\n"
    )
    return root


def test_a_scan_normalises_semgrep_findings(tmp_path: Path) -> None:
    result = scan_sast(_tree(tmp_path), semgrep_path=_semgrep())

    by_rule = {f.rule_id: f for f in result.findings}
    exec_finding = by_rule["semgrep/javascript.command-injection.child-process-exec"]
    assert exec_finding.tool == "semgrep"
    assert exec_finding.severity is Severity.HIGH
    assert exec_finding.properties["cwe"] == "CWE-78"
    assert exec_finding.location.path == "web/app.js"
    assert (exec_finding.location.start_line, exec_finding.location.start_column) == (3, 3)
    assert exec_finding.snippet == "  cp.exec('ls ' + user);"
    tls_finding = by_rule["semgrep/go.tls.insecure-skip-verify"]
    assert tls_finding.location.path == "svc/main.go"
    assert tls_finding.properties["cwe"] == "CWE-295"
    assert [n for n in result.notices if n.tool == "semgrep"] == []
    semgrep_run = next(r for r in result.tool_runs if r.tool == "semgrep")
    assert semgrep_run.ran
    assert semgrep_run.files_scanned == 2
    assert semgrep_run.findings == 2


def test_a_semgrep_fingerprint_survives_moving_the_code(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    before = {f.rule_id: f.fingerprint for f in scan_sast(root, semgrep_path=_semgrep()).findings}
    app = root / "web" / "app.js"
    app.write_text("// moved\n\n" + app.read_text().replace("  cp.exec", "    cp.exec"))

    after = {f.rule_id: f for f in scan_sast(root, semgrep_path=_semgrep()).findings}

    moved = after["semgrep/javascript.command-injection.child-process-exec"]
    assert moved.location.start_line == 5
    assert moved.fingerprint == before[moved.rule_id]


def test_files_semgrep_cannot_parse_or_skips_for_size_are_notices(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "web" / "broken.js").write_text("function (((( {\n")
    (root / "web" / "bundle.min.js").write_text("var a=" + "1+" * 700_000 + "1;\n")

    result = scan_sast(root, semgrep_path=_semgrep())

    notices = {(n.path, n.kind) for n in result.notices if n.tool == "semgrep"}
    assert ("web/bundle.min.js", NoticeKind.FILE_SKIPPED) in notices
    assert ("web/broken.js", NoticeKind.FILE_SKIPPED) in notices
    assert "semgrep/javascript.command-injection.child-process-exec" in {
        f.rule_id for f in result.findings
    }


def test_semgrep_skips_the_same_default_folders_as_bandit(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    (root / "node_modules" / "dep").mkdir(parents=True)
    (root / "node_modules" / "dep" / "index.js").write_text("eval(input)\n")
    (root / "vendor-js").mkdir()
    (root / "vendor-js" / "x.js").write_text("eval(input)\n")

    result = scan_sast(root, semgrep_path=_semgrep(), exclude=["vendor-js"])

    assert {f.location.path for f in result.findings} == {"web/app.js", "svc/main.go"}


def test_a_hostile_tree_of_pipes_and_deep_nesting_finishes_with_its_findings(
    tmp_path: Path,
) -> None:
    # A named pipe would block a reader forever; 5,000 nested brackets would overflow
    # a naive recursive parser. Both tools skip the pipes and survive the nesting.
    os.mkfifo(tmp_path / "pipe.js")
    os.mkfifo(tmp_path / "pipe.py")
    (tmp_path / "deep.js").write_text("x = " + "[" * 5000 + "]" * 5000 + ";\neval(input);\n")
    (tmp_path / "deep.go").write_text(
        "package main\n\nvar x = " + "(" * 5000 + "1" + ")" * 5000 + "\n"
    )

    result = scan_sast(tmp_path, semgrep_path=_semgrep(), semgrep_timeout_seconds=120)

    assert [(f.rule_id, f.location.path) for f in result.findings] == [
        ("semgrep/javascript.code-injection.eval", "deep.js")
    ]
    assert "pipe.js" not in {n.path for n in result.notices}
