"""read_file, write_file, edit_file and list_files as a model uses them."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolContext
from orchestrate.agents.tools.files import (
    MAX_LINE_CHARS,
    MAX_LISTED_FILES,
    EditFile,
    ListFiles,
    ReadFile,
    WriteFile,
)
from tests.unit.agents.tools.support import call, make_context


class TestReadFile:
    async def test_lines_are_numbered_like_cat_n(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.py").write_text("first\nsecond\n")
        result = await call(ReadFile(), context, path="a.py")
        assert not result.is_error
        assert result.content == "     1\tfirst\n     2\tsecond\n"

    async def test_a_line_range_is_inclusive_and_keeps_real_numbers(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.txt").write_text("".join(f"line {n}\n" for n in range(1, 11)))
        result = await call(ReadFile(), context, path="a.txt", start_line=3, end_line=4)
        assert result.content == "     3\tline 3\n     4\tline 4\n"

    async def test_a_start_past_the_end_says_how_long_the_file_is(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.txt").write_text("one\ntwo\n")
        result = await call(ReadFile(), context, path="a.txt", start_line=9)
        assert result.is_error
        assert "past the end of 'a.txt' (2 lines)" in result.content

    async def test_an_end_before_the_start_is_refused(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.txt").write_text("one\n")
        result = await call(ReadFile(), context, path="a.txt", start_line=5, end_line=2)
        assert result.is_error
        assert "before start_line" in result.content

    async def test_a_large_file_is_truncated_with_where_to_continue(self, workspace: Path) -> None:
        (workspace / "big.txt").write_text("".join(f"row {n}\n" for n in range(1, 5001)))
        result = await call(ReadFile(), make_context(workspace, output_limit=1_000), path="big.txt")
        assert len(result.content) < 1_200
        last_shown = int(result.content.splitlines()[-2].split("\t")[0])
        assert f"continue with start_line={last_shown + 1}" in result.content

    async def test_very_long_lines_are_cut(self, workspace: Path, context: ToolContext) -> None:
        (workspace / "min.js").write_text("x" * (MAX_LINE_CHARS + 500))
        result = await call(ReadFile(), context, path="min.js")
        assert "line truncated, 500 more characters" in result.content

    async def test_a_binary_file_is_refused(self, workspace: Path, context: ToolContext) -> None:
        (workspace / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
        result = await call(ReadFile(), context, path="logo.png")
        assert result.is_error
        assert "binary" in result.content

    async def test_an_empty_file_says_so(self, workspace: Path, context: ToolContext) -> None:
        (workspace / "empty.txt").write_text("")
        result = await call(ReadFile(), context, path="empty.txt")
        assert result.content == "('empty.txt' is empty)"

    async def test_a_missing_file_suggests_list_files(self, context: ToolContext) -> None:
        result = await call(ReadFile(), context, path="nope.txt")
        assert result.is_error
        assert "'nope.txt' does not exist; use list_files" in result.content

    async def test_reading_a_file_outside_returns_an_error_without_its_content(
        self, workspace: Path, outside: Path, context: ToolContext
    ) -> None:
        (workspace / "link.txt").symlink_to(outside / "secret.txt")
        for raw in ("../outside/secret.txt", str(outside / "secret.txt"), "link.txt"):
            result = await call(ReadFile(), context, path=raw)
            assert result.is_error
            assert "outside the workspace" in result.content
            assert "the secret" not in result.content

    async def test_an_unknown_argument_is_named(self, context: ToolContext) -> None:
        result = await call(ReadFile(), context, file_path="a.txt")
        assert result.is_error
        assert "'path' is required" in result.content
        assert "'file_path' is not an argument of this tool" in result.content


class TestWriteFile:
    async def test_a_new_file_is_created_with_its_parent_directories(
        self, workspace: Path, context: ToolContext
    ) -> None:
        result = await call(WriteFile(), context, path="src/pkg/mod.py", content="a = 1\nb = 2\n")
        assert (workspace / "src" / "pkg" / "mod.py").read_text() == "a = 1\nb = 2\n"
        assert result.content == "Created 'src/pkg/mod.py': 2 lines, 12 bytes"

    async def test_an_existing_file_is_replaced(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.txt").write_text("old")
        result = await call(WriteFile(), context, path="a.txt", content="new")
        assert (workspace / "a.txt").read_text() == "new"
        assert result.content.startswith("Replaced 'a.txt'")

    async def test_writing_through_a_symlinked_directory_outside_creates_nothing_there(
        self, workspace: Path, outside: Path, context: ToolContext
    ) -> None:
        (workspace / "out").symlink_to(outside, target_is_directory=True)
        result = await call(WriteFile(), context, path="out/planted.txt", content="x")
        assert result.is_error
        assert not (outside / "planted.txt").exists()

    async def test_overwriting_a_file_outside_through_a_leaf_symlink_is_refused(
        self, workspace: Path, outside: Path, context: ToolContext
    ) -> None:
        (workspace / "notes.txt").symlink_to(outside / "secret.txt")
        result = await call(WriteFile(), context, path="notes.txt", content="overwritten")
        assert result.is_error
        assert (outside / "secret.txt").read_text() == "the secret\n"

    async def test_writing_a_git_hook_is_refused(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / ".git" / "hooks").mkdir(parents=True)
        result = await call(WriteFile(), context, path=".git/hooks/pre-commit", content="rm -rf")
        assert result.is_error
        assert not (workspace / ".git" / "hooks" / "pre-commit").exists()

    async def test_a_directory_cannot_be_written_as_a_file(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "src").mkdir()
        result = await call(WriteFile(), context, path="src", content="x")
        assert result.is_error
        assert "is a directory" in result.content


class TestEditFile:
    async def test_a_unique_string_is_replaced(self, workspace: Path, context: ToolContext) -> None:
        (workspace / "a.py").write_text("def f():\n    return 1\n")
        result = await call(
            EditFile(), context, path="a.py", old_string="return 1", new_string="return 2"
        )
        assert (workspace / "a.py").read_text() == "def f():\n    return 2\n"
        assert result.content == "Edited 'a.py': replaced 1 occurrence, the first at line 2"

    async def test_a_missing_string_is_reported_with_advice_to_read_the_file(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.py").write_text("x = 1\n")
        result = await call(EditFile(), context, path="a.py", old_string="y = 1", new_string="")
        assert result.is_error
        assert "old_string was not found in 'a.py'" in result.content
        assert "read_file" in result.content
        assert (workspace / "a.py").read_text() == "x = 1\n"

    async def test_an_ambiguous_string_says_how_many_matches_and_where(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.py").write_text("x = 1\ny = 2\nx = 1\nx = 1\n")
        result = await call(EditFile(), context, path="a.py", old_string="x = 1", new_string="z")
        assert result.is_error
        assert "occurs 3 times in 'a.py' (at lines 1, 3, 4)" in result.content
        assert "Add surrounding lines" in result.content
        assert (workspace / "a.py").read_text() == "x = 1\ny = 2\nx = 1\nx = 1\n"

    async def test_replace_all_replaces_every_occurrence(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.py").write_text("x = 1\ny = 2\nx = 1\n")
        result = await call(
            EditFile(), context, path="a.py", old_string="x", new_string="w", replace_all=True
        )
        assert (workspace / "a.py").read_text() == "w = 1\ny = 2\nw = 1\n"
        assert "replaced 2 occurrences" in result.content

    async def test_a_windows_file_is_edited_with_the_line_breaks_read_file_hides(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
        await call(EditFile(), context, path="a.txt", old_string="one\ntwo", new_string="1\n2")
        assert (workspace / "a.txt").read_bytes() == b"1\r\n2\r\nthree\r\n"

    async def test_an_empty_old_string_points_to_write_file(
        self, workspace: Path, context: ToolContext
    ) -> None:
        (workspace / "a.txt").write_text("x")
        result = await call(EditFile(), context, path="a.txt", old_string="", new_string="y")
        assert result.is_error
        assert "write_file" in result.content

    async def test_editing_a_file_outside_is_refused(
        self, workspace: Path, outside: Path, context: ToolContext
    ) -> None:
        result = await call(
            EditFile(), context, path="../outside/secret.txt", old_string="the", new_string="a"
        )
        assert result.is_error
        assert (outside / "secret.txt").read_text() == "the secret\n"


class TestListFiles:
    async def test_everything_is_listed_sorted_without_git(
        self, workspace: Path, context: ToolContext
    ) -> None:
        for name in ("b.txt", "a/z.py", "a/b/c.md", ".git/config", ".hidden"):
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (workspace / name).write_text("")
        result = await call(ListFiles(), context)
        assert result.content.splitlines() == [".hidden", "a/b/c.md", "a/z.py", "b.txt"]

    async def test_a_pattern_and_a_directory_narrow_the_listing(
        self, workspace: Path, context: ToolContext
    ) -> None:
        for name in ("src/a.py", "src/pkg/b.py", "src/c.txt", "tests/d.py"):
            (workspace / name).parent.mkdir(parents=True, exist_ok=True)
            (workspace / name).write_text("")
        result = await call(ListFiles(), context, pattern="**/*.py", path="src")
        assert result.content.splitlines() == ["src/a.py", "src/pkg/b.py"]

    async def test_no_match_says_so(self, context: ToolContext) -> None:
        result = await call(ListFiles(), context, pattern="*.rs")
        assert result.content == "No files match '*.rs' in '.'"

    async def test_a_long_listing_is_capped_with_a_note(
        self, workspace: Path, context: ToolContext
    ) -> None:
        for number in range(MAX_LISTED_FILES + 5):
            (workspace / f"f{number:05}.txt").write_text("")
        result = await call(ListFiles(), make_context(workspace, output_limit=1_000_000))
        lines = result.content.splitlines()
        assert len(lines) == MAX_LISTED_FILES + 1
        assert lines[-1] == "[… 5 more files not shown; narrow the pattern or the path …]"

    async def test_listing_a_directory_outside_is_refused(
        self, outside: Path, context: ToolContext
    ) -> None:
        result = await call(ListFiles(), context, path=str(outside))
        assert result.is_error
        assert "outside the workspace" in result.content


@pytest.mark.parametrize("tool", [ReadFile(), WriteFile(), EditFile(), ListFiles()])
def test_each_file_tool_publishes_a_plain_object_schema(
    tool: ReadFile | WriteFile | EditFile | ListFiles,
) -> None:
    schema = tool.spec.input_schema
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert "title" not in schema
    assert all("anyOf" not in prop for prop in schema["properties"].values())
