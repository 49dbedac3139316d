"""Workspace confinement: every way out of the workspace is refused, after resolving."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.agents.tools.base import ToolInputError
from orchestrate.agents.tools.paths import glob_matcher, resolve_in_workspace, walk_files


class TestPathsInside:
    def test_a_relative_path_resolves_under_the_workspace(self, workspace: Path) -> None:
        assert resolve_in_workspace(workspace, "src/app.py") == workspace / "src" / "app.py"

    def test_an_absolute_path_inside_the_workspace_is_accepted(self, workspace: Path) -> None:
        target = workspace / "notes.md"
        assert resolve_in_workspace(workspace, str(target)) == target

    def test_dot_dot_that_stays_inside_is_accepted(self, workspace: Path) -> None:
        assert resolve_in_workspace(workspace, "src/../README.md") == workspace / "README.md"

    def test_a_symlink_to_a_file_inside_resolves_to_its_target(self, workspace: Path) -> None:
        (workspace / "real.txt").write_text("x")
        (workspace / "alias.txt").symlink_to("real.txt")
        assert resolve_in_workspace(workspace, "alias.txt") == workspace / "real.txt"

    def test_a_workspace_reached_through_a_symlink_still_confines(self, tmp_path: Path) -> None:
        real = tmp_path / "real-workspace"
        real.mkdir()
        link = tmp_path / "linked-workspace"
        link.symlink_to(real)
        assert resolve_in_workspace(link, "a.txt") == real / "a.txt"
        with pytest.raises(ToolInputError, match="outside the workspace"):
            resolve_in_workspace(link, "../real-workspace-sibling")


class TestEscapesAreRefused:
    def test_dot_dot_out_of_the_workspace_is_refused_with_the_path_named(
        self, workspace: Path
    ) -> None:
        with pytest.raises(ToolInputError, match=r"path '\.\./x' is outside the workspace"):
            resolve_in_workspace(workspace, "../x")

    def test_dot_dot_through_a_missing_directory_is_refused(self, workspace: Path) -> None:
        with pytest.raises(ToolInputError, match="outside the workspace"):
            resolve_in_workspace(workspace, "new/../../outside/secret.txt", for_write=True)

    def test_an_absolute_path_outside_is_refused(self, workspace: Path) -> None:
        with pytest.raises(ToolInputError, match="'/etc/passwd' is outside the workspace"):
            resolve_in_workspace(workspace, "/etc/passwd")

    def test_a_home_relative_path_is_refused(self, workspace: Path) -> None:
        with pytest.raises(ToolInputError, match="outside the workspace"):
            resolve_in_workspace(workspace, "~/.ssh/id_rsa")

    def test_a_symlink_leaf_to_a_file_outside_is_refused(
        self, workspace: Path, outside: Path
    ) -> None:
        (workspace / "innocent.txt").symlink_to(outside / "secret.txt")
        with pytest.raises(ToolInputError, match=r"'innocent\.txt' is outside the workspace"):
            resolve_in_workspace(workspace, "innocent.txt")

    def test_a_symlinked_directory_in_the_middle_is_refused(
        self, workspace: Path, outside: Path
    ) -> None:
        (workspace / "docs").mkdir()
        (workspace / "docs" / "shared").symlink_to(outside, target_is_directory=True)
        with pytest.raises(ToolInputError, match="outside the workspace"):
            resolve_in_workspace(workspace, "docs/shared/secret.txt")

    def test_a_new_file_under_a_symlinked_directory_outside_is_refused(
        self, workspace: Path, outside: Path
    ) -> None:
        (workspace / "out").symlink_to(outside, target_is_directory=True)
        with pytest.raises(ToolInputError, match="outside the workspace"):
            resolve_in_workspace(workspace, "out/new/file.txt", for_write=True)

    def test_a_dangling_symlink_pointing_outside_is_refused(
        self, workspace: Path, outside: Path
    ) -> None:
        (workspace / "later.txt").symlink_to(outside / "not-yet-there.txt")
        with pytest.raises(ToolInputError, match="outside the workspace"):
            resolve_in_workspace(workspace, "later.txt", for_write=True)

    def test_a_symlink_loop_is_refused_with_a_clear_message(self, workspace: Path) -> None:
        (workspace / "a").symlink_to("b")
        (workspace / "b").symlink_to("a")
        with pytest.raises(ToolInputError, match="symlink loop"):
            resolve_in_workspace(workspace, "a")

    def test_an_empty_path_is_refused(self, workspace: Path) -> None:
        with pytest.raises(ToolInputError, match="empty"):
            resolve_in_workspace(workspace, "  ")


class TestGitDirectory:
    @pytest.mark.parametrize("raw", [".git/config", ".git/hooks/pre-commit", ".git", "sub/.git"])
    def test_writing_into_git_metadata_is_refused(self, workspace: Path, raw: str) -> None:
        (workspace / ".git" / "hooks").mkdir(parents=True)
        with pytest.raises(ToolInputError, match=r"inside the repository's \.git"):
            resolve_in_workspace(workspace, raw, for_write=True)

    def test_writing_through_a_symlink_into_git_is_refused(self, workspace: Path) -> None:
        (workspace / ".git" / "hooks").mkdir(parents=True)
        (workspace / "hooks").symlink_to(".git/hooks", target_is_directory=True)
        with pytest.raises(ToolInputError, match=r"\.git"):
            resolve_in_workspace(workspace, "hooks/pre-commit", for_write=True)

    def test_reading_git_metadata_is_allowed(self, workspace: Path) -> None:
        (workspace / ".git").mkdir()
        path = resolve_in_workspace(workspace, ".git/HEAD")
        assert path == workspace / ".git" / "HEAD"

    def test_a_file_merely_named_like_git_is_writable(self, workspace: Path) -> None:
        assert resolve_in_workspace(workspace, ".gitignore", for_write=True).name == ".gitignore"


class TestWalkingFiles:
    def test_walking_skips_git_and_links_that_lead_outside(
        self, workspace: Path, outside: Path
    ) -> None:
        (workspace / ".git").mkdir()
        (workspace / ".git" / "config").write_text("")
        (workspace / "a.txt").write_text("")
        (workspace / "inner.txt").symlink_to("a.txt")
        (workspace / "leak.txt").symlink_to(outside / "secret.txt")
        (workspace / "linked").symlink_to(outside, target_is_directory=True)
        names = [path.name for path in walk_files(workspace.resolve(), workspace.resolve())]
        assert names == ["a.txt", "inner.txt"]


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("**/*", "a/b/c.txt", True),
        ("**/*.py", "setup.py", True),
        ("**/*.py", "src/pkg/mod.py", True),
        ("*.py", "src/mod.py", False),
        ("src/*.py", "src/mod.py", True),
        ("src/*.py", "src/pkg/mod.py", False),
        ("src/**", "src/pkg/mod.py", True),
        ("test_?.py", "test_a.py", True),
        ("[!a]*.txt", "a.txt", False),
        ("[!a]*.txt", "b.txt", True),
        ("./docs/*.md", "docs/x.md", True),
    ],
)
def test_glob_patterns_follow_the_usual_rules(pattern: str, path: str, matches: bool) -> None:
    assert glob_matcher(pattern)(path) is matches


def test_a_relative_workspace_is_taken_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rel").mkdir()
    assert resolve_in_workspace(Path("rel"), "x") == (tmp_path / "rel" / "x").resolve()
