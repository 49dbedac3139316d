"""``orchestrate security scan|baseline|scans|show|findings|report`` on both databases,
over real trees with the real scanners."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cli.support import Cli, make_cli
from tests.integration.security.advisories.osv_builders import fixture_export
from tests.unit.security.sarif_schema import assert_valid_sarif
from tests.unit.security.secrets.builders import github_token

# Made-up tokens of documented shapes (never real keys); GitHub's carries its checksum.
GITHUB_TOKEN = github_token()
AWS_KEY_ID = "AKIA" + "QYLPMN5HHHFPZAM2"


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def a_tree(root: Path) -> Path:
    """A small project with one committed token and clean code."""
    (root / "app").mkdir(parents=True)
    (root / "app" / "settings.py").write_text(
        f'DEBUG = False\nGITHUB_TOKEN = "{GITHUB_TOKEN}"\n', encoding="utf-8"
    )
    (root / "app" / "main.py").write_text("print('hello')\n", encoding="utf-8")
    return root


def test_a_token_fails_the_gate_and_json_names_it(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")

    result = cli("security", "scan", str(tree), "--secrets", "--format", "json")

    assert result.exit_code == 1, result.output
    document = json.loads(result.stdout)
    (finding,) = document["findings"]
    assert finding["category"] == "secret"
    assert finding["location"]["path"] == "app/settings.py"
    assert finding["location"]["start_line"] == 2
    assert GITHUB_TOKEN not in result.output
    assert document["passed"] is False
    assert "Gate failed" in result.stderr


def test_fail_on_above_the_finding_passes(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")

    result = cli("security", "scan", str(tree), "--secrets", "--fail-on", "critical")

    assert result.exit_code == 0, result.output
    assert "Gate passed" in result.stderr


def test_a_baseline_accepts_the_token_even_after_it_moves(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")
    baseline = tree / ".orchestrate-baseline.json"

    written = cli("security", "baseline", str(tree), "--secrets", "--output", str(baseline))
    settings = tree / "app" / "settings.py"
    settings.write_text("# moved down\n\n\n" + settings.read_text(), encoding="utf-8")
    scanned = cli("security", "scan", str(tree), "--secrets", "--baseline", str(baseline))

    assert written.exit_code == 0, written.output
    assert GITHUB_TOKEN not in baseline.read_text()
    assert scanned.exit_code == 0, scanned.output
    assert "0 new, 1 baselined" in scanned.stderr


def test_sarif_output_goes_to_a_file_the_scan_does_not_read(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")
    output = tree / "results.sarif"
    cli("security", "scan", str(tree), "--secrets", "--format", "sarif", "-o", str(output))

    again = cli("security", "scan", str(tree), "--secrets", "--format", "json")

    assert_valid_sarif(json.loads(output.read_text()))
    assert len(json.loads(again.stdout)["findings"]) == 1  # not the SARIF file's snippet


def test_history_finds_a_token_removed_since_at_its_commit(cli: Cli) -> None:
    tree = cli.workdir / "repo"
    tree.mkdir()
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tree / "deploy.sh").write_text(f"export AWS_ACCESS_KEY_ID={AWS_KEY_ID}\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "deploy"], check=True)
    added = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (tree / "deploy.sh").write_text("export AWS_ACCESS_KEY_ID=$KEY\n")
    subprocess.run([*git, "commit", "-qam", "no key"], check=True)

    plain = cli("security", "scan", str(tree), "--secrets", "--format", "json")
    history = cli("security", "scan", str(tree), "--secrets", "--history", "--format", "json")

    assert json.loads(plain.stdout)["findings"] == []
    (finding,) = json.loads(history.stdout)["findings"]
    assert finding["location"]["commit"] == added
    assert history.exit_code == 1


def test_deps_named_with_an_empty_database_is_a_usage_error(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")
    (tree / "requirements.txt").write_text("requests==2.25.0\n")

    named = cli("security", "scan", str(tree), "--deps")
    everything = cli("security", "scan", str(tree), "--fail-on", "critical", "--no-record")

    assert named.exit_code == 2
    assert "OSV database is empty" in named.stderr
    assert everything.exit_code == 0, everything.output
    assert "OSV database is empty" in everything.stderr


def test_recorded_scans_are_listed_shown_and_reported(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")
    cli("security", "scan", str(tree), "--secrets")

    listed = cli("security", "scans")
    failed = cli("security", "scans", "--gate", "failed", "--json")
    passed = cli("security", "scans", "--gate", "passed", "--json")
    bad_status = cli("security", "scans", "--status", "sleeping")
    shown = cli("security", "show", "--json")
    findings = cli("security", "findings")
    markdown = cli("security", "report", "--format", "md")

    assert listed.exit_code == 0, listed.output
    assert len(json.loads(failed.stdout)) == 1
    assert json.loads(passed.stdout) == []
    assert bad_status.exit_code == 2
    assert "Unknown scan status 'sleeping'" in bad_status.stderr
    assert json.loads(shown.stdout)["failing"] == 1
    assert "app/settings.py:2" in findings.stdout
    assert markdown.stdout.startswith("# Security scan")
    assert GITHUB_TOKEN not in markdown.stdout


def test_bad_input_is_a_clear_error(cli: Cli) -> None:
    tree = a_tree(cli.workdir / "shop")

    no_dir = cli("security", "scan", str(cli.workdir / "missing"))
    bad_format = cli("security", "scan", str(tree), "--format", "pdf")
    bad_severity = cli("security", "scan", str(tree), "--fail-on", "severe")
    bad_baseline = cli("security", "scan", str(tree), "--baseline", str(tree / "app" / "main.py"))
    both = cli("security", "scan", str(tree), "--history", "--diff", "HEAD")
    nothing_yet = cli("security", "show")

    assert [r.exit_code for r in (no_dir, bad_format, bad_severity, bad_baseline, both)] == [
        2,
        2,
        2,
        2,
        2,
    ]
    assert "Unknown severity 'severe'" in bad_severity.stderr
    assert "is not a baseline" in bad_baseline.stderr
    assert nothing_yet.exit_code != 0
    assert "run `security scan` first" in nothing_yet.stderr


def test_db_import_status_and_a_deps_scan_with_the_bump(cli: Cli, tmp_path: Path) -> None:
    export = fixture_export(tmp_path)
    tree = cli.workdir / "shop"
    tree.mkdir()
    (tree / "requirements.txt").write_text("requests==2.28.1\n", encoding="utf-8")

    empty = cli("security", "db", "status", "--json")
    imported = cli("security", "db", "import", str(export), "--json")
    again = cli("security", "db", "import", str(export))
    status = cli("security", "db", "status", "--json")
    scanned = cli(
        "security", "scan", str(tree), "--deps", "--fail-on", "medium", "--format", "json"
    )

    assert json.loads(empty.stdout)["advisories"] == 0
    assert imported.exit_code == 0, imported.output
    summary = json.loads(imported.stdout)
    assert summary["records"] == summary["inserted"] == 10
    assert "0 new" in again.stderr
    assert "10 unchanged" in again.stderr
    state = json.loads(status.stdout)
    assert state["per_ecosystem"]["PyPI"] >= 3
    assert state["last_import"]["records"] == 10
    assert scanned.exit_code == 1, scanned.output
    (finding,) = json.loads(scanned.stdout)["findings"]
    assert finding["rule_id"] == "osv/PYSEC-2023-74"
    assert (finding["fix"]["from"], finding["fix"]["to"]) == ("2.28.1", "2.31.0")


def test_db_import_of_something_that_is_no_export_changes_nothing(cli: Cli) -> None:
    stray = cli.workdir / "notes.txt"
    stray.write_text("not OSV\n", encoding="utf-8")

    refused = cli("security", "db", "import", str(stray))
    missing = cli("security", "db", "import", str(cli.workdir / "absent.zip"))
    status = cli("security", "db", "status", "--json")

    assert refused.exit_code != 0
    assert "Traceback" not in refused.output
    assert missing.exit_code == 2
    assert json.loads(status.stdout)["advisories"] == 0


def test_db_update_offline_says_how_to_import_instead(cli: Cli) -> None:
    closed = "http://127.0.0.1:9/osv"  # the discard port: nothing listens

    result = cli(
        "security",
        "db",
        "update",
        env={
            "ORCHESTRATE_SECURITY_OSV_URL": closed,
            "ORCHESTRATE_SECURITY_OSV_ECOSYSTEMS": "PyPI",
        },
    )

    assert result.exit_code != 0
    assert "security db import" in result.stderr


def test_diff_reads_only_changes_since_the_ref_untracked_files_included(cli: Cli) -> None:
    tree = cli.workdir / "repo"
    (tree / "app").mkdir(parents=True)
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    old, staged, untracked = github_token(), github_token(), github_token()
    (tree / "app" / "old.py").write_text(f'OLD = "{old}"\n', encoding="utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "old"], check=True)
    (tree / "app" / "old.py").write_text(f'OLD = "{old}"\nNEW = "{staged}"\n', encoding="utf-8")
    subprocess.run([*git, "add", "."], check=True)
    (tree / "app" / "fresh.py").write_text(f'\n\nFRESH = "{untracked}"\n', encoding="utf-8")

    result = cli(
        "security", "scan", str(tree / "app"), "--secrets", "--diff", "HEAD", "--format", "json"
    )
    bad_ref = cli("security", "scan", str(tree), "--secrets", "--diff", "no-such-ref")

    found = sorted(
        (f["location"]["path"], f["location"]["start_line"])
        for f in json.loads(result.stdout)["findings"]
    )
    assert found == [("fresh.py", 3), ("old.py", 2)]  # relative to the folder scanned
    assert bad_ref.exit_code == 2
    assert "Cannot diff" in bad_ref.stderr


def test_a_change_cannot_allowlist_its_own_secret_in_a_diff_scan(cli: Cli) -> None:
    """The configuration comes from the diff's base: a pull request that adds a token
    and, in the same change, allowlists its path and disables the rule is still caught;
    the scan says the file differs. A tree scan of the same checkout obeys the file."""
    tree = cli.workdir / "repo"
    tree.mkdir()
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (tree / "README.md").write_text("shop\n", encoding="utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    (tree / "app").mkdir()
    (tree / "app" / "keys.py").write_text(f'TOKEN = "{github_token()}"\n', encoding="utf-8")
    (tree / ".orchestrate-secrets.toml").write_text(
        'disabled_rules = ["github-pat"]\n[allowlist]\npaths = ["app/**"]\n', encoding="utf-8"
    )
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "add a key, and hide it"], check=True)

    diff = cli("security", "scan", str(tree), "--secrets", "--diff", "HEAD~1", "--format", "json")
    tree_scan = cli("security", "scan", str(tree), "--secrets", "--format", "json")

    report = json.loads(diff.stdout)
    assert [f["location"]["path"] for f in report["findings"]] == ["app/keys.py"]
    assert diff.exit_code != 0
    assert "differs from its version at HEAD~1" in diff.stdout + diff.stderr
    assert json.loads(tree_scan.stdout)["findings"] == []
