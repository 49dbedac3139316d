"""Bandit through its Python API: real runs on code written into tmp_path."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.models import Category, Severity
from orchestrate.security.sast import NoticeKind, SastResult, scan_sast

VULNERABLE = """\
import subprocess


def run(command):
    subprocess.call(command, shell=True)
"""


def _write(root: Path, relative: str, text: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _scan(root: Path, **options: object) -> SastResult:
    # A semgrep path that does not exist keeps these tests about Bandit alone.
    return scan_sast(root, semgrep_path=str(root / "no-semgrep"), **options)  # type: ignore[arg-type]


def _bandit(result: SastResult, rule_id: str) -> list[str]:
    return [f.location.path for f in result.findings if f.rule_id == rule_id]


def test_shell_true_is_reported_with_severity_confidence_cwe_and_location(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "app/run.py", VULNERABLE)

    result = _scan(tmp_path)

    [finding] = [f for f in result.findings if f.rule_id == "bandit/B602"]
    assert finding.category is Category.SAST
    assert finding.tool == "bandit"
    assert finding.severity is Severity.HIGH
    assert finding.properties["confidence"] == "high"
    assert finding.properties["cwe"] == "CWE-78"
    assert finding.location.path == "app/run.py"
    assert (finding.location.start_line, finding.location.end_line) == (5, 5)
    assert finding.location.start_column == 5
    assert finding.snippet == "    subprocess.call(command, shell=True)"
    assert finding.help_uri is not None
    assert "b602" in finding.help_uri


def test_a_multi_line_call_is_one_finding_whose_snippet_has_every_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "run.py",
        "import subprocess\nsubprocess.call(\n    command,\n    shell=True,\n)\n",
    )

    [finding] = [f for f in _scan(tmp_path).findings if f.rule_id == "bandit/B602"]

    assert (finding.location.start_line, finding.location.end_line) == (2, 5)
    assert finding.snippet.splitlines()[0] == "subprocess.call("
    assert "shell=True" in finding.snippet


def test_a_nosec_comment_suppresses_the_finding_on_its_line(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "run.py",
        "import subprocess  # nosec B404\nsubprocess.call(cmd, shell=True)  # nosec\n",
    )

    result = _scan(tmp_path)

    assert [f for f in result.findings if f.tool == "bandit"] == []


def test_the_fingerprint_survives_moving_the_code_to_another_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "run.py", VULNERABLE)
    before = {f.rule_id: f for f in _scan(tmp_path).findings}

    path.write_text(
        "# a comment\n\n\n" + VULNERABLE.replace("    subprocess", "        subprocess")
    )
    after = {f.rule_id: f for f in _scan(tmp_path).findings}

    assert after["bandit/B602"].location.start_line == 8
    assert after["bandit/B602"].fingerprint == before["bandit/B602"].fingerprint


def test_the_same_call_in_another_file_is_another_finding(tmp_path: Path) -> None:
    _write(tmp_path, "a.py", VULNERABLE)
    _write(tmp_path, "b.py", VULNERABLE)

    prints = {f.fingerprint for f in _scan(tmp_path).findings if f.rule_id == "bandit/B602"}

    assert len(prints) == 2


def test_virtualenvs_dependencies_and_tests_are_skipped_by_default(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", VULNERABLE)
    _write(tmp_path, "tests/test_app.py", VULNERABLE)
    _write(tmp_path, "node_modules/pkg/x.py", VULNERABLE)
    _write(tmp_path, "env-custom/lib/x.py", VULNERABLE)
    _write(tmp_path, "env-custom/pyvenv.cfg", "home = /usr/bin\n")

    assert _bandit(_scan(tmp_path), "bandit/B602") == ["app.py"]


def test_exclude_globs_skip_matching_paths(tmp_path: Path) -> None:
    _write(tmp_path, "app.py", VULNERABLE)
    _write(tmp_path, "generated/one.py", VULNERABLE)
    _write(tmp_path, "scripts/legacy_tool.py", VULNERABLE)

    result = _scan(tmp_path, exclude=["generated", "*/legacy_*.py"])

    assert _bandit(result, "bandit/B602") == ["app.py"]


def test_the_projects_bandit_skips_and_exclude_dirs_are_respected(tmp_path: Path) -> None:
    _write(tmp_path, "pyproject.toml", '[tool.bandit]\nskips = ["B404"]\nexclude_dirs = ["old"]\n')
    _write(tmp_path, "app.py", VULNERABLE)
    _write(tmp_path, "old/app.py", VULNERABLE)

    rules = {(f.rule_id, f.location.path) for f in _scan(tmp_path).findings}

    assert rules == {("bandit/B602", "app.py")}


def test_bandit_prints_nothing_and_leaves_logging_as_it_was(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # A file whose AST is too deep makes Bandit log an error, which would reach the
    # host's handlers (or stderr, through logging's last resort).
    _write(tmp_path, "broken.py", "x = " + "+".join(["a"] * 200_000) + "\n")
    _write(tmp_path, "x.py", "x = " + "(" * 50 + "1" + ")" * 50 + "\n" + VULNERABLE)
    root_logger, bandit_logger = logging.getLogger(), logging.getLogger("bandit")
    before = (
        list(root_logger.handlers),
        root_logger.level,
        list(bandit_logger.handlers),
        bandit_logger.propagate,
        bandit_logger.level,
    )

    result = _scan(tmp_path)

    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
    # Nothing of Bandit's reaches the host's handlers (pytest's sits on the root logger).
    assert [r.getMessage() for r in caplog.records if r.name.startswith("bandit")] == []
    assert before == (
        list(root_logger.handlers),
        root_logger.level,
        list(bandit_logger.handlers),
        bandit_logger.propagate,
        bandit_logger.level,
    )
    assert _bandit(result, "bandit/B602") == ["x.py"]


class TestHostileInput:
    def test_a_five_megabyte_one_line_file_is_skipped_with_a_notice(self, tmp_path: Path) -> None:
        _write(tmp_path, "huge.py", "x = " + "'a' + " * 850_000 + "'a'\n")
        _write(tmp_path, "app.py", VULNERABLE)
        started = time.monotonic()

        result = _scan(tmp_path)

        assert time.monotonic() - started < 30
        [notice] = [n for n in result.notices if n.path == "huge.py" and n.tool == "bandit"]
        assert notice.kind is NoticeKind.FILE_SKIPPED
        assert "bytes" in notice.message
        assert _bandit(result, "bandit/B602") == ["app.py"]

    def test_a_file_with_invalid_encoding_is_a_notice_not_a_crash(self, tmp_path: Path) -> None:
        _write(tmp_path, "latin.py", b"\xff\xfe\x00 bad = '\xe9'\n")
        _write(tmp_path, "app.py", VULNERABLE)

        result = _scan(tmp_path)

        assert [n.path for n in result.notices if n.tool == "bandit"] == ["latin.py"]
        assert _bandit(result, "bandit/B602") == ["app.py"]

    def test_deeply_nested_code_is_a_notice_not_a_crash(self, tmp_path: Path) -> None:
        # Beyond the recursion limit of the AST construction, and of Python's indentation.
        _write(tmp_path, "chain.py", "x = " + "+".join(["a"] * 200_000) + "\n")
        _write(
            tmp_path,
            "indent.py",
            "".join("    " * i + "if x:\n" for i in range(120)) + "    " * 120 + "pass\n",
        )
        _write(tmp_path, "app.py", VULNERABLE)

        result = _scan(tmp_path)

        skipped = sorted(n.path or "" for n in result.notices if n.tool == "bandit")
        assert skipped == ["chain.py", "indent.py"]
        assert _bandit(result, "bandit/B602") == ["app.py"]

    def test_a_symlink_out_of_the_tree_is_not_followed(self, tmp_path: Path) -> None:
        outside = tmp_path / "outside"
        _write(outside, "secret.py", VULNERABLE)
        root = tmp_path / "root"
        _write(root, "app.py", "print('hello')\n")
        (root / "linked").symlink_to(outside, target_is_directory=True)
        (root / "linked.py").symlink_to(outside / "secret.py")

        assert _bandit(_scan(root), "bandit/B602") == []

    def test_the_time_budget_turns_the_remaining_files_into_notices(self, tmp_path: Path) -> None:
        for index in range(3):
            _write(tmp_path, f"m{index}.py", VULNERABLE)

        result = _scan(tmp_path, bandit_budget_seconds=0.0)

        budget = [n for n in result.notices if "time budget" in n.message]
        assert len(budget) == 3


def test_a_path_that_is_not_a_directory_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "app.py", VULNERABLE)

    with pytest.raises(ValidationFailed, match="not one"):
        scan_sast(path)
