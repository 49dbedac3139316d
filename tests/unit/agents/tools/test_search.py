"""grep: `path:line: text` results from the Python scan (and from ripgrep when present)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.search import MAX_MATCHES, Grep
from tests.unit.agents.tools.support import call, make_context


@pytest.fixture
def project(workspace: Path) -> Path:
    files = {
        "src/app.py": "import os\n\ndef main():\n    return os.getcwd()\n",
        "src/util.py": "def helper():\n    return 'MAIN'\n",
        "docs/guide.md": "Run main() to start.\n",
        ".git/config": "main = yes\n",
    }
    for name, text in files.items():
        (workspace / name).parent.mkdir(parents=True, exist_ok=True)
        (workspace / name).write_text(text)
    (workspace / "logo.bin").write_bytes(b"main\x00\x01")
    return workspace


def python_only(workspace: Path) -> ToolContext:
    """A context whose PATH has no ``rg``, so the Python scan runs."""
    return make_context(workspace, env={"PATH": "/nonexistent"})


class TestPythonScan:
    async def test_matches_are_printed_as_path_line_text(self, project: Path) -> None:
        result = await call(Grep(), python_only(project), pattern=r"def \w+\(")
        assert result.content.splitlines() == [
            "src/app.py:3: def main():",
            "src/util.py:1: def helper():",
        ]

    async def test_git_and_binary_files_are_skipped(self, project: Path) -> None:
        result = await call(Grep(), python_only(project), pattern="main")
        assert result.content.splitlines() == [
            "docs/guide.md:1: Run main() to start.",
            "src/app.py:3: def main():",
        ]

    async def test_case_insensitive_finds_every_spelling(self, project: Path) -> None:
        result = await call(Grep(), python_only(project), pattern="main", case_insensitive=True)
        assert "src/util.py:2:     return 'MAIN'" in result.content.splitlines()

    async def test_a_glob_without_slash_matches_file_names_at_any_depth(
        self, project: Path
    ) -> None:
        result = await call(Grep(), python_only(project), pattern="main", glob="*.md")
        assert result.content == "docs/guide.md:1: Run main() to start."

    async def test_a_path_narrows_the_search_to_a_file(self, project: Path) -> None:
        result = await call(Grep(), python_only(project), pattern="return", path="src/util.py")
        assert result.content == "src/util.py:2:     return 'MAIN'"

    async def test_no_match_says_so(self, project: Path) -> None:
        result = await call(Grep(), python_only(project), pattern="zebra")
        assert result.content == "No matches for 'zebra'"

    async def test_an_invalid_expression_is_an_error_naming_it(self, project: Path) -> None:
        result = await call(Grep(), python_only(project), pattern="(unclosed")
        assert result.is_error
        assert "Invalid regular expression '(unclosed'" in result.content

    async def test_searching_outside_the_workspace_is_refused(
        self, project: Path, outside: Path
    ) -> None:
        result = await call(Grep(), python_only(project), pattern="secret", path=str(outside))
        assert result.is_error
        assert "outside the workspace" in result.content

    async def test_a_link_to_a_file_outside_is_not_searched(
        self, project: Path, outside: Path
    ) -> None:
        (project / "leak.txt").symlink_to(outside / "secret.txt")
        result = await call(Grep(), python_only(project), pattern="secret")
        assert result.content == "No matches for 'secret'"

    async def test_matches_are_capped_with_a_note(self, workspace: Path) -> None:
        (workspace / "many.txt").write_text("hit\n" * (MAX_MATCHES + 50))
        result = await call(Grep(), python_only(workspace), pattern="hit")
        lines = result.content.splitlines()
        assert len(lines) == MAX_MATCHES + 1
        assert lines[-1].startswith(f"[… stopped after {MAX_MATCHES} matching lines")


@pytest.mark.skipif(shutil.which("rg") is None, reason="ripgrep (rg) is not installed here")
async def test_ripgrep_gives_the_same_lines_as_the_python_scan(project: Path) -> None:
    with_rg = await call(Grep(), make_context(project), pattern=r"def \w+\(")
    without = await call(Grep(), python_only(project), pattern=r"def \w+\(")
    # The same lines; the order differs (ripgrep sorts a directory's files and folders
    # together, the scan lists its files first), but each is stable from run to run.
    assert sorted(with_rg.content.splitlines()) == sorted(without.content.splitlines())
    again = await call(Grep(), make_context(project), pattern=r"def \w+\(")
    assert again.content == with_rg.content
