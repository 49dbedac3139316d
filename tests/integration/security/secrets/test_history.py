"""Secrets in git history and in diffs, on real repositories."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.baseline import Baseline, render_baseline, triage
from orchestrate.security.models import Finding
from orchestrate.security.secrets import SecretsConfig, scan_diff, scan_git_history, scan_tree
from tests.integration.security.secrets.gitrepo import GitRepo
from tests.unit.security.secrets.builders import api_secret, github_token

CONFIG = SecretsConfig()


def _settings(token: str, *, header: str = "") -> str:
    return f'{header}"""Settings."""\n\nDEBUG = False\nTOKEN = "{token}"\n'


def test_a_secret_is_reported_once_at_the_commit_that_introduced_it(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    token = github_token()
    repo.commit("start", {"README.md": "# app\n"})
    introduced = repo.commit("settings", {"app/settings.py": _settings(token)})
    repo.commit("more", {"app/settings.py": _settings(token) + "TIMEOUT = 30\n"})
    # The line rewritten: the later diff adds the secret again; it is not new.
    renamed = _settings(token).replace("TOKEN =", "API_TOKEN =")
    repo.commit("rename", {"app/settings.py": renamed})

    [finding] = scan_git_history(repo.root, CONFIG)

    assert finding.rule_id == "secrets/github-pat"
    assert finding.location.commit == introduced
    assert (finding.location.path, finding.location.start_line) == ("app/settings.py", 4)
    assert token not in repr(finding)


def test_a_secret_removed_later_is_still_found_in_history(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    secret = api_secret()
    added = repo.commit("oops", {".env": f"API_KEY={secret}\n"})
    repo.commit("remove", {".env": None})
    repo.commit("other", {"app.py": "print('hello')\n"})

    assert scan_tree(repo.root, CONFIG) == []
    [finding] = scan_git_history(repo.root, CONFIG)
    assert finding.location.commit == added
    assert finding.rule_id == "secrets/generic-secret"


def test_commits_on_every_branch_are_scanned(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    repo.commit("start", {"README.md": "# app\n"})
    repo.git("checkout", "-q", "-b", "experiment")
    on_branch = repo.commit("try", {"try.py": f'TOKEN = "{github_token()}"\n'})
    repo.git("checkout", "-q", "main")

    [finding] = scan_git_history(repo.root, CONFIG)

    assert finding.location.commit == on_branch


def test_a_rebase_and_a_squash_keep_the_fingerprint_and_the_baseline(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    token = github_token()
    repo.commit("start", {"app/settings.py": _settings("none")})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("token", {"app/settings.py": _settings(token)})
    repo.commit("timeout", {"extra.py": "TIMEOUT = 30\n"})
    [before] = scan_git_history(repo.root, CONFIG)
    baseline = _baseline(scan_tree(repo.root, CONFIG))
    repo.git("checkout", "-q", "main")
    repo.commit("license header", {"app/settings.py": _settings("none", header="# MIT\n\n")})
    repo.git("checkout", "-q", "feature")
    repo.git("rebase", "-q", "main")

    [rebased] = scan_git_history(repo.root, CONFIG)
    repo.git("reset", "-q", "--soft", "main")
    squashed_commit = repo.commit("feature, squashed", {})
    repo.git("reflog", "expire", "--expire=now", "--all")
    [squashed] = scan_git_history(repo.root, CONFIG)

    assert rebased.location.commit != before.location.commit
    assert rebased.location.start_line == (before.location.start_line or 0) + 2
    assert squashed.location.commit == squashed_commit
    assert before.fingerprint == rebased.fingerprint == squashed.fingerprint
    split = triage(scan_tree(repo.root, CONFIG), baseline)
    assert (len(split.new), len(split.baselined)) == (0, 1)


def test_history_is_read_from_one_git_log_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = GitRepo(tmp_path / "repo")
    for number in range(20):
        repo.commit(f"c{number}", {f"f{number}.py": f'TOKEN = "{github_token()}"\n'})
    calls = tmp_path / "calls.log"
    shim = tmp_path / "bin" / "git"
    shim.parent.mkdir()
    real_git = next(
        Path(folder) / "git"
        for folder in os.environ["PATH"].split(os.pathsep)
        if (Path(folder) / "git").is_file()
    )
    shim.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexec {real_git} "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{shim.parent}{os.pathsep}{os.environ['PATH']}")

    found = scan_git_history(repo.root, CONFIG)

    assert len(found) == 20
    logs = [line for line in calls.read_text().splitlines() if " log " in f" {line} "]
    assert len(logs) == 1


def test_a_directory_that_is_not_a_repository_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="not a git repository"):
        scan_git_history(tmp_path, CONFIG)


def test_a_repository_without_commits_has_no_history_findings(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")

    assert scan_git_history(repo.root, CONFIG) == []


def test_git_diff_output_is_scanned_on_added_lines_at_new_line_numbers(tmp_path: Path) -> None:
    repo = GitRepo(tmp_path / "repo")
    old = github_token()
    repo.commit("start", {"app.py": f'import os\nOLD = "{old}"\nx = 1\n'})
    new = github_token()
    repo.write("app.py", f'import os\nimport sys\n\nx = 1\nNEW = "{new}"\n')

    diff = repo.git("diff", "--no-color", "--no-ext-diff", "--unified=0", "HEAD", "--")
    [finding] = scan_diff(diff, CONFIG)

    assert (finding.location.path, finding.location.start_line) == ("app.py", 5)
    assert finding.location.start_column == len('NEW = "') + 1


def _baseline(findings: list[Finding]) -> Baseline:
    import json

    text = render_baseline(findings, datetime.now(UTC))
    return Baseline(frozenset(entry["fingerprint"] for entry in json.loads(text)["findings"]))
