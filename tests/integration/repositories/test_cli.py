"""``orchestrate repo``: paths used as they are, URLs cloned into the home, the seed
setting read beside the registry, declared dependencies and the graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.integration.cli.support import Cli
from tests.integration.repositories.git_repositories import bare_repository, git, work_tree


def cli_json(cli: Cli, *args: str) -> Any:
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def cache(cli: Cli) -> Path:
    home = cli.env["ORCHESTRATE_HOME"]
    assert home is not None
    return Path(home) / "repositories"


class TestAddingAPath:
    def test_a_relative_path_is_registered_as_its_absolute_work_tree(self, cli: Cli) -> None:
        work_tree(cli.workdir / "app", branch="develop")

        added = cli("repo", "add", "app", "--name", "Octo/App")
        shown = cli_json(cli, "repo", "show", "octo/app")

        assert added.exit_code == 0, added.output
        assert "Registered Octo/App" in added.output
        assert shown["name"] == "Octo/App"
        assert shown["path"] == str((cli.workdir / "app").resolve())
        assert shown["default_branch"] == "develop"
        assert (shown["forge"], shown["remote"], shown["cloned"], shown["seed"]) == (
            "github", "origin", False, False,
        )  # fmt: skip

    def test_the_remotes_url_is_recorded_without_its_password(self, cli: Cli) -> None:
        path = work_tree(cli.workdir / "app")
        git(path, "remote", "add", "upstream", "https://me:s3cret@example.com/octo/app.git")

        added = cli_json(cli, "repo", "add", "app", "--name", "octo/app", "--remote", "upstream")

        assert added["url"] == "https://me@example.com/octo/app.git"
        assert added["remote"] == "upstream"

    def test_removing_it_leaves_the_users_work_tree_alone(self, cli: Cli) -> None:
        path = work_tree(cli.workdir / "app")
        cli("repo", "add", str(path), "--name", "octo/app")

        removed = cli("repo", "remove", "OCTO/APP")

        assert removed.exit_code == 0, removed.output
        assert "is left as it is" in removed.output
        assert (path / "README.md").is_file()
        assert cli_json(cli, "repo", "list") == []

    def test_a_directory_that_is_no_work_tree_is_refused_with_exit_2(self, cli: Cli) -> None:
        (cli.workdir / "plain").mkdir()

        result = cli("repo", "add", "plain", "--name", "octo/plain")

        assert result.exit_code == 2
        assert "is not a git work tree" in result.output
        assert cli_json(cli, "repo", "list") == []

    def test_a_bad_name_or_an_unknown_forge_is_refused_with_exit_2(self, cli: Cli) -> None:
        work_tree(cli.workdir / "app")

        bad_name = cli("repo", "add", "app", "--name", "just-a-name")
        bad_forge = cli("repo", "add", "app", "--name", "octo/app", "--forge", "bitbucket")

        assert bad_name.exit_code == bad_forge.exit_code == 2
        assert "use OWNER/NAME" in bad_name.output
        assert "Unknown forge 'bitbucket': use one of github, gitlab" in bad_forge.output

    def test_a_name_registered_in_another_case_is_a_conflict(self, cli: Cli) -> None:
        work_tree(cli.workdir / "app")
        cli("repo", "add", "app", "--name", "octo/app")

        again = cli("repo", "add", "app", "--name", "Octo/APP")

        assert again.exit_code == 1
        assert "octo/app is already registered" in again.output


class TestCloningAUrl:
    def test_a_file_url_is_cloned_into_the_home_and_its_default_branch_detected(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        bare = bare_repository(tmp_path / "upstream.git", branch="trunk")

        added = cli_json(
            cli, "repo", "add", bare.as_uri(), "--name", "octo/lib", "--forge", "gitlab"
        )

        clone = cache(cli) / "octo" / "lib"
        assert added["path"] == str(clone)
        assert added["cloned"] is True
        assert added["url"] == bare.as_uri()
        assert added["default_branch"] == "trunk"
        assert added["forge"] == "gitlab"
        assert (clone / "README.md").read_text() == "hello\n"

    def test_a_plain_path_to_a_bare_repository_is_not_a_work_tree(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        bare = bare_repository(tmp_path / "upstream.git", branch="main")

        result = cli("repo", "add", str(bare), "--name", "octo/lib")

        assert result.exit_code == 2
        assert "bare repository or a plain directory" in result.output

    def test_removing_a_clone_deletes_it(self, cli: Cli, tmp_path: Path) -> None:
        bare = bare_repository(tmp_path / "upstream.git", branch="main")
        cli("repo", "add", bare.as_uri(), "--name", "octo/lib", "--remote", "upstream")

        removed = cli("repo", "remove", "octo/lib")

        assert removed.exit_code == 0, removed.output
        assert "and its clone" in removed.output
        assert list(cache(cli).rglob("*")) == []
        assert (bare / "HEAD").is_file()

    def test_a_failed_clone_leaves_nothing_behind_and_says_why(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        missing = (tmp_path / "no-such.git").as_uri()

        result = cli("repo", "add", missing, "--name", "octo/lib")

        assert result.exit_code == 1
        assert f"Could not clone {missing}" in result.output
        assert "partial" not in result.output
        assert list(cache(cli).rglob("*")) == []
        assert cli_json(cli, "repo", "list") == []

    def test_a_clone_without_the_given_default_branch_is_removed_again(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        bare = bare_repository(tmp_path / "upstream.git", branch="main")

        result = cli("repo", "add", bare.as_uri(), "--name", "octo/lib", "--default-branch", "dev")

        assert result.exit_code == 2
        assert "octo/lib has no branch 'dev' (neither locally nor on origin)" in result.output
        assert list(cache(cli).rglob("*")) == []
        assert cli_json(cli, "repo", "list") == []

    def test_a_given_default_branch_of_the_clone_is_kept(self, cli: Cli, tmp_path: Path) -> None:
        source = work_tree(tmp_path / "source")
        git(source, "branch", "release")
        bare = tmp_path / "upstream.git"
        git(tmp_path, "clone", "-q", "--bare", str(source), str(bare))

        added = cli_json(
            cli, "repo", "add", bare.as_uri(), "--name", "octo/lib", "--default-branch", "release"
        )

        assert added["default_branch"] == "release"

    def test_a_url_with_a_password_is_refused_before_anything_is_cloned(self, cli: Cli) -> None:
        result = cli("repo", "add", "https://me:s3cret@example.com/a.git", "--name", "octo/a")

        assert result.exit_code == 2
        assert "credential helper" in result.output
        assert not cache(cli).exists()


class TestTheSeedSetting:
    def test_seeded_repositories_are_listed_and_shown_but_not_removed(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        seeded = work_tree(tmp_path / "seeded", branch="stable")
        env = {"ORCHESTRATE_GITHUB_REPOSITORIES": json.dumps({"octo/seeded": str(seeded)})}
        work_tree(cli.workdir / "app")
        cli("repo", "add", "app", "--name", "octo/app")

        listed = cli("repo", "list", "--json", env=env)
        removed = cli("repo", "remove", "octo/seeded", env=env)

        assert [(r["name"], r["seed"]) for r in json.loads(listed.stdout)] == [
            ("octo/app", False),
            ("octo/seeded", True),
        ]
        assert json.loads(listed.stdout)[1]["default_branch"] == "stable"
        assert removed.exit_code == 1
        assert "comes from the setting ORCHESTRATE_GITHUB_REPOSITORIES" in removed.output


class TestDependencies:
    def test_declared_and_detected_edges_order_and_cycles_in_the_graph(self, cli: Cli) -> None:
        lib = work_tree(cli.workdir / "lib", {"pyproject.toml": '[project]\nname = "octo-lib"\n'})
        app = work_tree(
            cli.workdir / "app",
            {"pyproject.toml": '[project]\nname = "app"\ndependencies = ["octo_lib>=1"]\n'},
        )
        work_tree(cli.workdir / "docs")
        assert cli("repo", "add", str(lib), "--name", "octo/lib").exit_code == 0
        assert cli("repo", "add", str(app), "--name", "octo/app").exit_code == 0
        added = cli("repo", "add", "docs", "--name", "octo/docs", "--depends-on", "octo/app")
        assert added.exit_code == 0, added.output

        graph = cli_json(cli, "repo", "graph")

        assert graph["order"] == ["octo/lib", "octo/app", "octo/docs"]
        assert graph["cycles"] == []
        assert graph["edges"] == [
            {"repository": "octo/docs", "depends_on": "octo/app", "source": "declared",
             "evidence": []},
            {"repository": "octo/app", "depends_on": "octo/lib", "source": "detected",
             "evidence": [{"manifest": "pyproject.toml", "dependency": "octo_lib"}]},
        ]  # fmt: skip

        assert cli("repo", "depend", "octo/lib", "--on", "octo/docs").exit_code == 0
        cyclic = cli("repo", "graph")

        assert cyclic.exit_code == 0, cyclic.output
        assert "Cycle: octo/app → octo/docs → octo/lib → octo/app" in cyclic.output
        assert cli_json(cli, "repo", "graph")["cycles"] == [["octo/app", "octo/docs", "octo/lib"]]

        assert cli("repo", "undepend", "octo/lib", "--on", "octo/docs").exit_code == 0
        assert cli_json(cli, "repo", "graph")["cycles"] == []
        assert cli("repo", "undepend", "octo/lib", "--on", "octo/docs").exit_code == 1

    def test_a_dependency_on_an_unknown_repository_is_refused(self, cli: Cli) -> None:
        work_tree(cli.workdir / "app")

        result = cli("repo", "add", "app", "--name", "octo/app", "--depends-on", "octo/nope")

        assert result.exit_code == 1
        assert "No repository named 'octo/nope' is registered" in result.output
        assert cli_json(cli, "repo", "list") == []

    def test_removing_a_repository_drops_the_dependencies_declared_on_it(self, cli: Cli) -> None:
        work_tree(cli.workdir / "lib")
        work_tree(cli.workdir / "app")
        cli("repo", "add", "lib", "--name", "octo/lib")
        cli("repo", "add", "app", "--name", "octo/app", "--depends-on", "octo/lib")

        cli("repo", "remove", "octo/lib")

        assert cli_json(cli, "repo", "show", "octo/app")["depends_on"] == []
        assert cli("repo", "show", "octo/lib").exit_code == 1
