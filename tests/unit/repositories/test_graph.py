"""The dependency graph: edges detected from the four manifest kinds, declared edges,
a dependencies-first order, and cycles reported rather than crashed on."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrate.repositories.graph import build_graph
from orchestrate.repositories.manifests import Ecosystem, Manifests, read_manifests
from orchestrate.repositories.models import (
    Edge,
    EdgeSource,
    Evidence,
    Forge,
    Repository,
    RepositoryGraph,
)


def repository(
    tmp_path: Path, name: str, files: dict[str, str], url: str | None = None
) -> Repository:
    path = tmp_path / name.replace("/", "_")
    path.mkdir(parents=True)
    for file_name, text in files.items():
        (path / file_name).write_text(text)
    return Repository(name, Forge.GITHUB, path, "origin", "main", url=url)


def graph_of(
    *repositories: Repository, declared: tuple[tuple[str, str], ...] = ()
) -> RepositoryGraph:
    manifests: dict[str, Manifests | None] = {
        r.key: read_manifests(r.path) if r.path.is_dir() else None for r in repositories
    }
    return build_graph(list(repositories), manifests, declared)


def detected(graph: RepositoryGraph) -> list[tuple[str, str, tuple[Evidence, ...]]]:
    return [(e.repository, e.depends_on, e.evidence) for e in graph.edges]


class TestDetection:
    def test_a_pep_621_dependency_naming_the_others_project_is_an_edge(
        self, tmp_path: Path
    ) -> None:
        lib = repository(tmp_path, "octo/lib", {"pyproject.toml": '[project]\nname = "Octo_Lib"\n'})
        app = repository(tmp_path, "octo/app", {"pyproject.toml": (
            '[project]\nname = "app"\ndependencies = ["requests>=2"]\n'
            '[project.optional-dependencies]\nextra = ["octo-lib[fast]>=1; python_version>\'3\'"]\n'
        )})  # fmt: skip

        graph = graph_of(lib, app)

        assert detected(graph) == [
            ("octo/app", "octo/lib", (Evidence("pyproject.toml", "octo-lib"),))
        ]
        assert graph.order == ("octo/lib", "octo/app")

    def test_poetry_git_and_path_dependencies_point_at_the_repository(self, tmp_path: Path) -> None:
        lib = repository(tmp_path, "octo/lib", {}, url="git@github.com:octo/lib.git")
        tools = repository(tmp_path, "octo/tools", {})
        app = repository(tmp_path, "octo/app", {"pyproject.toml": (
            '[tool.poetry]\nname = "app"\n[tool.poetry.dependencies]\npython = "^3.11"\n'
            'lib = { git = "https://github.com/octo/lib.git", branch = "main" }\n'
            '[tool.poetry.group.dev.dependencies]\ntools = { path = "../octo_tools" }\n'
        )})  # fmt: skip

        graph = graph_of(lib, tools, app)

        assert detected(graph) == [
            ("octo/app", "octo/lib", (Evidence("pyproject.toml", "lib"),)),
            ("octo/app", "octo/tools", (Evidence("pyproject.toml", "tools"),)),
        ]

    def test_package_json_sections_and_github_shorthands_are_edges(self, tmp_path: Path) -> None:
        ui = repository(tmp_path, "octo/ui", {"package.json": json.dumps({"name": "@octo/ui"})})
        kit = repository(tmp_path, "octo/kit", {})
        web = repository(tmp_path, "octo/web", {"package.json": json.dumps({
            "name": "web",
            "peerDependencies": {"@octo/ui": "^1"},
            "devDependencies": {"kit": "github:octo/kit#v2", "left-pad": "1.0.0"},
        })})  # fmt: skip

        graph = graph_of(ui, kit, web)

        assert detected(graph) == [
            ("octo/web", "octo/kit", (Evidence("package.json", "kit"),)),
            ("octo/web", "octo/ui", (Evidence("package.json", "@octo/ui"),)),
        ]

    def test_cargo_renamed_path_and_target_dependencies_are_edges(self, tmp_path: Path) -> None:
        core = repository(tmp_path, "octo/core", {"Cargo.toml": '[package]\nname = "octo_core"\n'})
        macros = repository(tmp_path, "octo/macros", {"Cargo.toml": '[package]\nname = "m"\n'})
        cli = repository(tmp_path, "octo/cli", {"Cargo.toml": (
            '[package]\nname = "cli"\n'
            '[dependencies]\ncore = { package = "octo-core", version = "1" }\nserde = "1"\n'
            '[target.\'cfg(unix)\'.build-dependencies]\nmacros = { path = "../octo_macros" }\n'
        )})  # fmt: skip

        graph = graph_of(core, macros, cli)

        assert detected(graph) == [
            ("octo/cli", "octo/core", (Evidence("Cargo.toml", "octo-core"),)),
            ("octo/cli", "octo/macros", (Evidence("Cargo.toml", "macros"),)),
        ]

    def test_go_mod_require_blocks_lines_and_local_replaces_are_edges(self, tmp_path: Path) -> None:
        api = repository(
            tmp_path, "octo/api", {"go.mod": "module github.com/octo/api\n\ngo 1.22\n"}
        )
        log = repository(tmp_path, "octo/log", {"go.mod": "module example.com/log // logging\n"})
        svc = repository(tmp_path, "octo/svc", {"go.mod": (
            "module github.com/octo/svc\n\ngo 1.22\n\n"
            "require (\n\tgithub.com/octo/api v1.2.0\n\tgolang.org/x/net v0.1.0 // indirect\n)\n"
            "require example.com/log v0.0.1\n"
            "replace example.com/log => ../octo_log\n"
        )})  # fmt: skip

        graph = graph_of(api, log, svc)

        assert detected(graph) == [
            ("octo/svc", "octo/api", (Evidence("go.mod", "github.com/octo/api"),)),
            ("octo/svc", "octo/log", (Evidence("go.mod", "example.com/log"),)),
        ]
        assert graph.order == ("octo/api", "octo/log", "octo/svc")

    def test_a_repository_naming_its_own_package_is_no_edge(self, tmp_path: Path) -> None:
        app = repository(tmp_path, "octo/app", {"pyproject.toml": (
            '[project]\nname = "app"\n[project.optional-dependencies]\nall = ["app[x]"]\n'
        )})  # fmt: skip

        assert graph_of(app).edges == ()

    def test_ecosystems_do_not_mix(self, tmp_path: Path) -> None:
        lib = repository(tmp_path, "octo/lib", {"package.json": '{"name": "shared"}'})
        app = repository(tmp_path, "octo/app", {"pyproject.toml": (
            '[project]\nname = "app"\ndependencies = ["shared"]\n'
        )})  # fmt: skip

        assert graph_of(lib, app).edges == ()


class TestGraph:
    def test_declared_edges_stand_beside_detected_ones(self, tmp_path: Path) -> None:
        lib = repository(tmp_path, "octo/lib", {"package.json": '{"name": "lib"}'})
        app = repository(tmp_path, "octo/app", {"package.json": '{"dependencies": {"lib": "1"}}'})

        graph = graph_of(lib, app, declared=(("octo/app", "octo/lib"),))

        assert [(e.repository, e.depends_on, e.source) for e in graph.edges] == [
            ("octo/app", "octo/lib", EdgeSource.DECLARED),
            ("octo/app", "octo/lib", EdgeSource.DETECTED),
        ]

    def test_a_cycle_is_reported_and_its_members_stand_together_in_the_order(
        self, tmp_path: Path
    ) -> None:
        base = repository(tmp_path, "octo/base", {})
        a = repository(
            tmp_path, "octo/a", {"package.json": '{"name": "a", "dependencies": {"b": "1"}}'}
        )
        b = repository(
            tmp_path, "octo/b", {"package.json": '{"name": "b", "dependencies": {"a": "1"}}'}
        )
        top = repository(tmp_path, "octo/top", {})
        declared = (("octo/a", "octo/base"), ("octo/top", "octo/b"))

        graph = graph_of(top, b, a, base, declared=declared)

        assert graph.cycles == (("octo/a", "octo/b"),)
        assert graph.order == ("octo/base", "octo/a", "octo/b", "octo/top")

    def test_a_missing_work_tree_or_a_broken_manifest_is_a_warning(self, tmp_path: Path) -> None:
        broken = repository(tmp_path, "octo/broken", {"Cargo.toml": "[package\n"})
        gone = Repository("octo/gone", Forge.GITHUB, tmp_path / "nowhere", "origin", "main")

        graph = graph_of(broken, gone)

        assert graph.order == ("octo/broken", "octo/gone")
        assert graph.warnings[0].startswith("octo/broken: Cargo.toml could not be read")
        assert (
            graph.warnings[1]
            == f"octo/gone: no work tree at {tmp_path / 'nowhere'}; nothing detected"
        )

    def test_a_long_chain_is_ordered_without_recursion(self, tmp_path: Path) -> None:
        names = [f"octo/r{i:04d}" for i in range(3000)]
        chain = [Repository(n, Forge.GITHUB, tmp_path, "origin", "main") for n in names]
        declared = tuple((names[i], names[i + 1]) for i in range(len(names) - 1))

        graph = build_graph(chain, {r.key: Manifests() for r in chain}, declared)

        assert graph.order == tuple(reversed(names))
        assert graph.cycles == ()


def test_an_oversized_manifest_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"name": "x", "pad": "' + "x" * 1024 * 1024 + '"}')

    found = read_manifests(tmp_path)

    assert found.packages == ()
    assert "larger than" in found.problems[0]
    assert Ecosystem.NPM.value == "npm"


def test_edge_is_a_value() -> None:
    assert Edge("a/b", "c/d", EdgeSource.DECLARED) == Edge("a/b", "c/d", EdgeSource.DECLARED)
