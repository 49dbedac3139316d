"""Scanning a tree: what is read, what is skipped, and what a finding says (and hides)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

from orchestrate.security.baseline import Baseline, render_baseline, triage
from orchestrate.security.models import Category
from orchestrate.security.secrets import SecretsConfig, scan_tree
from orchestrate.security.secrets.tree import read_text_file
from orchestrate.testing.secrets_corpus import positive
from tests.unit.security.secrets.builders import github_token

CONFIG = SecretsConfig()


def _write(root: Path, name: str, content: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_a_finding_names_the_rule_place_and_hides_the_secret(tmp_path: Path) -> None:
    token = github_token()
    _write(tmp_path, "src/app/settings.py", f'# é\nGITHUB = "{token}"\n')

    [finding] = scan_tree(tmp_path, CONFIG)

    assert finding.rule_id == "secrets/github-pat"
    assert finding.category is Category.SECRET
    assert finding.tool == "orchestrate-secrets"
    assert finding.location.path == "src/app/settings.py"
    assert (finding.location.start_line, finding.location.end_line) == (2, 2)
    assert (finding.location.start_column, finding.location.end_column) == (11, 51)
    assert finding.snippet == "ghp_…"
    assert finding.properties["entropy"]
    assert token not in repr(finding)
    assert token[4:12] not in repr(finding)


def test_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", f'MESSAGE, TOKEN = "héllo wörld", "{github_token()}"\n')

    [finding] = scan_tree(tmp_path, CONFIG)

    assert finding.location.start_column == len('MESSAGE, TOKEN = "héllo wörld", "') + 1


def test_a_private_key_spans_its_block(tmp_path: Path) -> None:
    example = positive("private-key", random.Random(3))
    _write(tmp_path, "deploy/id_rsa", "\n" + example.text + "\n")

    [finding] = scan_tree(tmp_path, CONFIG)

    assert finding.rule_id == "secrets/private-key"
    assert finding.location.start_line == 2
    assert finding.location.end_line == 2 + example.text.count("\n")  # the END line
    assert "PRIVATE" not in finding.snippet
    assert example.text.splitlines()[1] not in repr(finding)


def test_the_fingerprint_survives_a_line_move_and_changes_with_the_path(tmp_path: Path) -> None:
    token = github_token()
    _write(tmp_path, "app.py", f'TOKEN = "{token}"\n')
    [before] = scan_tree(tmp_path, CONFIG)
    _write(tmp_path, "app.py", f'import os\n\n\nclass Settings:\n    token = "{token}"\n')
    [after] = scan_tree(tmp_path, CONFIG)
    (tmp_path / "app.py").rename(tmp_path / "moved.py")
    [renamed] = scan_tree(tmp_path, CONFIG)

    assert after.location.start_line == 5
    assert after.fingerprint == before.fingerprint
    assert renamed.fingerprint != before.fingerprint


def test_a_baseline_accepts_a_secret_after_it_moved(tmp_path: Path) -> None:
    token = github_token()
    _write(tmp_path, "app.py", f'TOKEN = "{token}"\n')
    baseline_text = render_baseline(scan_tree(tmp_path, CONFIG), datetime.now(UTC))
    _write(tmp_path, "app.py", f'"""Settings."""\n\nTOKEN = "{token}"\n')

    split = triage(scan_tree(tmp_path, CONFIG), _baseline(baseline_text))

    assert (len(split.new), len(split.baselined)) == (0, 1)
    assert token not in baseline_text


def test_a_baseline_file_is_never_scanned_whatever_its_name(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", f'TOKEN = "{github_token()}"\n')
    baseline_text = render_baseline(scan_tree(tmp_path, CONFIG), datetime.now(UTC))
    # Make the baseline look secret-laden: it must still be skipped as a whole.
    laden = baseline_text.replace('"findings"', f'"note": "{github_token()}",\n  "findings"')
    _write(tmp_path, "security/accepted-findings.json", laden)

    found = scan_tree(tmp_path, CONFIG)

    assert [finding.location.path for finding in found] == ["app.py"]


def test_binary_oversized_git_and_excluded_files_are_skipped(tmp_path: Path) -> None:
    line = f'TOKEN = "{github_token()}"\n'
    _write(tmp_path, "image.png", b"\x89PNG\x00\x00" + line.encode())
    _write(tmp_path, ".git/config", line)
    _write(tmp_path, "huge.txt", line + "x" * 300)
    _write(tmp_path, "report.sarif", line)
    _write(tmp_path, "kept.txt", line)

    found = scan_tree(tmp_path, SecretsConfig(max_file_size=200), exclude_paths=["report.sarif"])

    assert [finding.location.path for finding in found] == ["kept.txt"]


def test_installed_packages_and_caches_are_skipped_but_tests_are_not(tmp_path: Path) -> None:
    line = f'TOKEN = "{github_token()}"\n'
    _write(tmp_path, "node_modules/left-pad/index.js", line)
    _write(tmp_path, ".venv/lib/python3.11/site-packages/pkg/conf.py", line)
    _write(tmp_path, "env311/pyvenv.cfg", "home = /usr/bin\n")
    _write(tmp_path, "env311/lib/pkg/conf.py", line)
    _write(tmp_path, "src/__pycache__/conf.cpython-311.pyc.txt", line)
    _write(tmp_path, "tests/fixtures/conf.py", line)

    found = scan_tree(tmp_path, CONFIG)

    assert [finding.location.path for finding in found] == ["tests/fixtures/conf.py"]


def test_symlinks_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, "secret.txt", f'TOKEN = "{github_token()}"\n')
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)

    assert scan_tree(root, CONFIG) == []


def test_an_unreadable_or_vanished_file_becomes_nothing(tmp_path: Path) -> None:
    assert read_text_file(tmp_path / "gone.txt", 1000) is None
    assert read_text_file(tmp_path, 1000) is None  # a directory


def test_a_minified_bundle_is_scanned_for_provider_tokens(tmp_path: Path) -> None:
    _write(tmp_path, "dist/app.min.js", "var a=1;" * 5000 + f'k="{github_token()}";')

    assert [f.rule_id for f in scan_tree(tmp_path, CONFIG)] == ["secrets/github-pat"]


def _baseline(text: str) -> Baseline:
    import json

    entries = json.loads(text)["findings"]
    return Baseline(frozenset(entry["fingerprint"] for entry in entries))
