"""scan_sast without Semgrep, with a broken one, and the shape of its result."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.security.sast import NoticeKind, find_semgrep, scan_sast

VULNERABLE = "import subprocess\nsubprocess.call(command, shell=True)\n"


@pytest.fixture
def no_semgrep_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A PATH with no semgrep and an empty cache directory: the newcomer's machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.mark.usefixtures("no_semgrep_anywhere")
def test_without_semgrep_bandit_still_reports_and_a_notice_says_semgrep_was_skipped(
    tmp_path: Path,
) -> None:
    (tmp_path / "app.py").write_text(VULNERABLE)

    result = scan_sast(tmp_path)

    assert "bandit/B602" in {f.rule_id for f in result.findings}
    [notice] = [n for n in result.notices if n.tool == "semgrep"]
    assert notice.kind is NoticeKind.TOOL_SKIPPED
    assert "make security-tools" in notice.message
    assert result.skipped_tools == ("semgrep",)
    assert [(run.tool, run.ran) for run in result.tool_runs] == [
        ("bandit", True),
        ("semgrep", False),
    ]


def test_a_configured_semgrep_that_does_not_exist_is_named_in_the_notice(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(VULNERABLE)

    result = scan_sast(tmp_path, semgrep_path="/opt/nowhere/semgrep")

    [notice] = [n for n in result.notices if n.tool == "semgrep"]
    assert notice.kind is NoticeKind.TOOL_SKIPPED
    assert "/opt/nowhere/semgrep" in notice.message


def _fake_semgrep(tmp_path: Path, body: str) -> Path:
    program = tmp_path / "fake-semgrep"
    program.write_text(f"#!/bin/sh\n{body}\n")
    program.chmod(0o755)
    return program


def test_a_semgrep_that_prints_no_json_is_a_tool_failure_notice(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.py").write_text(VULNERABLE)
    program = _fake_semgrep(tmp_path, "echo 'Fatal: out of cheese' >&2; exit 2")

    result = scan_sast(tree, semgrep_path=str(program))

    [notice] = [n for n in result.notices if n.tool == "semgrep"]
    assert notice.kind is NoticeKind.TOOL_FAILED
    assert "out of cheese" in notice.message
    assert "bandit/B602" in {f.rule_id for f in result.findings}


def test_a_semgrep_that_hangs_is_stopped_at_the_timeout(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "app.js").write_text("eval(x)\n")
    program = _fake_semgrep(tmp_path, "sleep 60 & wait")

    result = scan_sast(tree, semgrep_path=str(program), semgrep_timeout_seconds=0.5)

    [notice] = [n for n in result.notices if n.tool == "semgrep"]
    assert notice.kind is NoticeKind.TOOL_FAILED
    assert "did not finish" in notice.message


def test_semgrep_sees_no_login_token_and_is_told_not_to_phone_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    seen = tmp_path / "seen"
    program = _fake_semgrep(
        tmp_path,
        f'env > "{seen}.env"; echo "$@" > "{seen}.args"; echo \'{{"results": [], "errors": []}}\'',
    )
    monkeypatch.setenv("SEMGREP_APP_TOKEN", "token-of-the-host")  # must not reach semgrep

    scan_sast(tree, semgrep_path=str(program))

    environment = (tmp_path / "seen.env").read_text()
    arguments = (tmp_path / "seen.args").read_text().split()
    assert "SEMGREP_APP_TOKEN" not in environment
    assert "SEMGREP_ENABLE_VERSION_CHECK=0" in environment
    assert "SEMGREP_SEND_METRICS=off" in environment
    assert "--metrics=off" in arguments
    assert "--disable-version-check" in arguments
    configs = [arguments[i + 1] for i, a in enumerate(arguments) if a == "--config"]
    assert len(configs) == 1
    assert configs[0].endswith("security/sast/rules")


def test_findings_come_back_sorted_by_path_and_line(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text(VULNERABLE)
    (tmp_path / "a.py").write_text("\n\n" + VULNERABLE)

    result = scan_sast(tmp_path, semgrep_path=str(tmp_path / "none"))

    keys = [(f.location.path, f.location.start_line) for f in result.findings]
    assert keys == sorted(keys, key=lambda k: (k[0], k[1] or 0))


def test_find_semgrep_prefers_the_configured_program(tmp_path: Path) -> None:
    program = _fake_semgrep(tmp_path, "exit 0")

    assert find_semgrep(str(program)) == program
