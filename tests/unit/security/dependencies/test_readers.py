"""Every supported lockfile and manifest format, read from real fixture files."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.dependencies import find_dependency_files, read_dependencies, read_file
from orchestrate.security.models import Dependency, Ecosystem

LOCKFILES = Path(__file__).parents[3] / "fixtures" / "security" / "lockfiles"


def by_name(dependencies: list[Dependency]) -> dict[str, Dependency]:
    return {dependency.name: dependency for dependency in dependencies}


def read(folder: str, name: str) -> list[Dependency]:
    root = LOCKFILES / folder
    return read_file(root / name, root)


class TestRequirements:
    def test_pins_hashes_markers_extras_and_includes_are_read_relative_to_the_root(self) -> None:
        found = read("requirements", "requirements.txt")

        versions = {(d.name, d.version, d.source) for d in found}
        assert versions == {
            ("urllib3", "1.26.5", "requirements/base.txt"),
            ("idna", "2.10", "constraints.txt"),
            ("jinja2", "3.1.2", "requirements.txt"),
            ("requests", "2.28.1", "requirements.txt"),
            ("pyyaml", "5.3.1", "requirements.txt"),
            ("click", None, "requirements.txt"),
        }

    def test_a_hashed_requirement_keeps_the_line_where_it_starts(self) -> None:
        found = by_name(read("requirements", "requirements.txt"))

        assert found["jinja2"].line == 6
        assert found["requests"].line == 9
        assert found["jinja2"].is_direct is True

    def test_a_constraints_file_does_not_say_its_packages_are_direct(self) -> None:
        assert by_name(read("requirements", "requirements.txt"))["idna"].is_direct is None

    def test_a_dev_requirements_file_marks_its_packages_dev(self) -> None:
        found = read("requirements", "requirements-dev.txt")

        assert [(d.name, d.version, d.is_dev) for d in found] == [("pytest", "7.4.0", True)]

    def test_an_include_outside_the_root_is_not_followed(self, tmp_path: Path) -> None:
        (tmp_path / "secret.txt").write_text("leaked==1.0\n")
        root = tmp_path / "project"
        root.mkdir()
        (root / "requirements.txt").write_text("-r ../secret.txt\nflask==2.0.0\n")

        found = read_file(root / "requirements.txt", root)

        assert [d.name for d in found] == ["flask"]

    def test_an_include_cycle_is_read_once(self, tmp_path: Path) -> None:
        (tmp_path / "requirements.txt").write_text("-r requirements-b.txt\na==1\n")
        (tmp_path / "requirements-b.txt").write_text("-r requirements.txt\nb==2\n")

        found = read_file(tmp_path / "requirements.txt", tmp_path)

        assert sorted(d.name for d in found) == ["a", "b"]

    def test_names_are_normalised_as_pep_503_says(self, tmp_path: Path) -> None:
        (tmp_path / "requirements.txt").write_text("Zope.Interface==5.0\nruamel_yaml==0.18\n")

        found = read_file(tmp_path / "requirements.txt", tmp_path)

        assert [d.name for d in found] == ["zope-interface", "ruamel-yaml"]

    def test_local_archives_paths_and_urls_are_skipped(self, tmp_path: Path) -> None:
        (tmp_path / "requirements.txt").write_text(
            "./dist/pkg-1.0-py3-none-any.whl\npkg-2.0.tar.gz\ngit+https://x/y.git#egg=y\n"
            "-e .\nflask==2.0.0\n"
        )

        found = read_file(tmp_path / "requirements.txt", tmp_path)

        assert [(d.name, d.line) for d in found] == [("flask", 5)]

    def test_a_wildcard_pin_is_not_an_exact_version(self, tmp_path: Path) -> None:
        (tmp_path / "requirements.txt").write_text("django==4.2.*\nflask>=2,<3\n")

        assert [d.version for d in read_file(tmp_path / "requirements.txt", tmp_path)] == [
            None,
            None,
        ]


class TestPythonLocks:
    def test_poetry_lock_with_direct_and_dev_from_pyproject(self) -> None:
        found = by_name(read("poetry", "poetry.lock"))

        assert (found["requests"].version, found["requests"].is_direct) == ("2.28.2", True)
        assert found["requests"].line == 25
        assert (found["certifi"].is_direct, found["certifi"].is_dev) == (False, False)
        assert (found["pytest"].is_direct, found["pytest"].is_dev) == (True, True)

    def test_poetry_lock_skips_local_folders(self, tmp_path: Path) -> None:
        (tmp_path / "poetry.lock").write_text(
            '[[package]]\nname = "mylib"\nversion = "0.1.0"\n\n[package.source]\n'
            'type = "directory"\nurl = "libs/mylib"\n\n'
            '[[package]]\nname = "six"\nversion = "1.16.0"\n'
        )

        found = read_file(tmp_path / "poetry.lock", tmp_path)

        assert [(d.name, d.line) for d in found] == [("six", 10)]

    def test_uv_lock_skips_the_project_itself_and_reads_its_groups(self) -> None:
        found = by_name(read("uv", "uv.lock"))

        assert sorted(found) == ["jinja2", "markupsafe", "ruff"]
        assert (found["jinja2"].is_direct, found["jinja2"].is_dev) == (True, False)
        assert (found["ruff"].is_direct, found["ruff"].is_dev) == (True, True)
        assert found["markupsafe"].is_direct is False

    def test_pipfile_lock_default_and_develop(self) -> None:
        found = by_name(read("pipenv", "Pipfile.lock"))

        assert {(d.name, d.version, d.is_dev) for d in found.values()} == {
            ("requests", "2.31.0", False),
            ("urllib3", "2.0.4", False),
            ("pyyaml", "5.3", True),
        }
        assert found["urllib3"].is_direct is False
        assert found["requests"].line == 9


class TestNpm:
    @pytest.mark.parametrize("folder", ["npm-v2", "npm-v3"])
    def test_packages_by_path_with_nested_copies_dev_flags_and_licences(self, folder: str) -> None:
        found = read(folder, "package-lock.json")

        assert {(d.name, d.version, d.is_direct, d.is_dev) for d in found} == {
            ("@babel/code-frame", "7.22.13", True, False),
            ("jest", "29.7.0", True, True),
            ("lodash", "4.17.10", False, True),
            ("lodash", "4.17.20", True, False),
        }
        assert all(d.licenses == ("MIT",) for d in found)
        assert all(d.source == "package-lock.json" for d in found)

    def test_lockfile_v1_nests_dependencies_and_skips_git_versions(self) -> None:
        found = read("npm-v1", "package-lock.json")

        assert [(d.name, d.version, d.is_direct, d.is_dev) for d in found] == [
            ("lodash", "4.17.15", True, False),
            ("mocha", "8.4.0", True, True),
            ("debug", "4.3.1", False, True),
            ("my-fork", None, False, False),
        ]


class TestYarn:
    def test_classic_yarn_lock(self) -> None:
        found = by_name(read("yarn-classic", "yarn.lock"))

        assert {(d.name, d.version, d.line) for d in found.values()} == {
            ("@babel/code-frame", "7.12.13", 5),
            ("left-pad", "1.3.0", 12),
            ("lodash", "4.17.19", 16),
        }
        assert found["left-pad"].is_dev
        assert found["left-pad"].is_direct
        assert not found["lodash"].is_dev

    def test_berry_yarn_lock_skips_workspaces(self) -> None:
        found = read("yarn-berry", "yarn.lock")

        assert [(d.name, d.version, d.line) for d in found] == [
            ("lodash", "4.17.20", 8),
            ("@types/node", "20.8.0", 15),
        ]


class TestCargoAndGo:
    def test_cargo_lock_reads_registry_crates_only(self) -> None:
        found = by_name(read("cargo", "Cargo.lock"))

        assert {(d.name, d.version, d.is_direct) for d in found.values()} == {
            ("libc", "0.2.150", False),
            ("time", "0.1.45", True),
        }
        assert found["time"].ecosystem is Ecosystem.CRATES_IO

    def test_go_sum_builds_with_go_mod_versions_and_direct_requirements(self) -> None:
        found = read("go", "go.sum")

        assert [(d.name, d.version, d.line, d.is_direct) for d in found] == [
            ("github.com/pkg/errors", "v0.9.1", 1, True),
            ("golang.org/x/crypto", "v0.0.0-20210921155107-089bfa567519", 3, False),
            ("golang.org/x/net", "v0.5.0", 7, True),
        ]

    def test_go_sum_without_go_mod_keeps_every_built_version(self, tmp_path: Path) -> None:
        source = (LOCKFILES / "go" / "go.sum").read_text()
        (tmp_path / "go.sum").write_text(source)

        found = read_file(tmp_path / "go.sum", tmp_path)

        assert ("golang.org/x/net", "v0.4.0") in {(d.name, d.version) for d in found}
        assert all(d.is_direct is None for d in found)


class TestDiscovery:
    def test_every_supported_file_is_found_and_installed_trees_are_skipped(
        self, tmp_path: Path
    ) -> None:
        (tmp_path / "node_modules" / "x").mkdir(parents=True)
        (tmp_path / "node_modules" / "x" / "package-lock.json").write_text("{}")
        (tmp_path / ".venv").mkdir()
        (tmp_path / ".venv" / "requirements.txt").write_text("evil==1\n")
        (tmp_path / "app").mkdir()
        (tmp_path / "app" / "Cargo.lock").write_text("version = 3\n")
        (tmp_path / "requirements.txt").write_text("flask==2.0.0\n")

        files = find_dependency_files(tmp_path)

        assert [p.relative_to(tmp_path).as_posix() for p in files] == [
            "requirements.txt",
            "app/Cargo.lock",
        ]
        assert [d.name for d in read_dependencies(tmp_path)] == ["flask"]

    def test_the_fixture_tree_reads_each_dependency_once(self) -> None:
        found = read_dependencies(LOCKFILES)

        keys = [(d.ecosystem, d.name, d.version, d.source, d.line) for d in found]
        assert len(keys) == len(set(keys))
        assert {d.ecosystem for d in found} == set(Ecosystem)

    def test_an_unsupported_file_is_refused_by_name(self, tmp_path: Path) -> None:
        (tmp_path / "Gemfile.lock").write_text("")

        with pytest.raises(ValidationFailed, match=r"Gemfile\.lock"):
            read_file(tmp_path / "Gemfile.lock", tmp_path)
