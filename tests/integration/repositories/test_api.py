"""``/api/repositories``: any token reads, operators and admins change, bad input is a
4xx problem, every change is audited and announced as an event."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.integration.repositories.git_repositories import bare_repository, work_tree
from tests.support import bearer

Tokens = dict[Role, str]


def assert_problem(response: httpx.Response, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]


class TestRoles:
    async def test_an_admin_adds_an_operator_removes_and_a_viewer_reads(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        path = work_tree(tmp_path / "app")
        operator, viewer = bearer(tokens[Role.OPERATOR]), bearer(tokens[Role.VIEWER])
        admin = bearer(tokens[Role.ADMIN])

        created = await api.post(
            "/api/repositories", json={"source": str(path), "name": "octo/app"}, headers=admin
        )
        listed = await api.get("/api/repositories", headers=viewer)
        shown = await api.get("/api/repositories/Octo/App", headers=viewer)
        graph = await api.get("/api/repositories/graph", headers=viewer)

        assert created.status_code == 201, created.text
        assert created.json()["default_branch"] == "main"
        assert [r["name"] for r in listed.json()["items"]] == ["octo/app"]
        assert shown.json()["path"] == str(path.resolve())
        assert graph.json()["nodes"] == ["octo/app"]

        removed = await api.delete("/api/repositories/octo/app", headers=operator)
        assert removed.status_code == 204
        assert (await api.get("/api/repositories", headers=viewer)).json()["items"] == []

    async def test_only_an_admin_registers_a_path_or_a_file_url_of_the_server(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        operator = bearer(tokens[Role.OPERATOR])
        path = work_tree(tmp_path / "app")

        for source in (str(path), path.as_uri(), "FILE:///etc"):
            response = await api.post(
                "/api/repositories", json={"source": source, "name": "octo/app"}, headers=operator
            )
            assert_problem(response, 403, "may not admin")
        assert not (tmp_path / "home" / "repositories").exists()

    async def test_a_viewer_may_not_change_the_registry(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        viewer, admin = bearer(tokens[Role.VIEWER]), bearer(tokens[Role.ADMIN])
        path = work_tree(tmp_path / "app")
        body = {"source": str(path), "name": "octo/app"}
        await api.post("/api/repositories", json=body, headers=admin)
        await api.post(
            "/api/repositories",
            json={"source": str(work_tree(tmp_path / "lib")), "name": "octo/lib"},
            headers=admin,
        )

        for response in (
            await api.post(
                "/api/repositories", json={**body, "name": "octo/other"}, headers=viewer
            ),
            await api.delete("/api/repositories/octo/app", headers=viewer),
            await api.put("/api/repositories/octo/app/dependencies/octo/lib", headers=viewer),
            await api.delete("/api/repositories/octo/app/dependencies/octo/lib", headers=viewer),
        ):
            assert_problem(response, 403, "may not write")

    async def test_without_a_token_nothing_is_shown(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/repositories")).status_code == 401


class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"name": "no-owner"}, "use OWNER/NAME"),
            ({"name": "octo/.."}, "use OWNER/NAME"),
            ({"forge": "bitbucket"}, "Unknown forge 'bitbucket'"),
            ({"remote": "-x"}, "Invalid remote name"),
            ({"default_branch": "a..b"}, "Invalid branch name"),
            ({"source": "relative/path"}, "is relative"),
            ({"source": "ext::sh -c id"}, "transport::address"),
            ({"depends_on": ["octo/app"]}, "cannot depend on itself"),
        ],
    )
    async def test_bad_fields_are_422_problems(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        tmp_path: Path,
        body: dict[str, object],
        detail: str,
    ) -> None:
        path = work_tree(tmp_path / "app")
        request = {"source": str(path), "name": "octo/app", **body}

        response = await api.post(
            "/api/repositories", json=request, headers=bearer(tokens[Role.ADMIN])
        )

        assert_problem(response, 422, detail)

    async def test_a_path_that_is_not_a_git_repository_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        for source, detail in (
            (tmp_path, "is not a git work tree"),
            (tmp_path / "missing", "is not a directory"),
        ):
            response = await api.post(
                "/api/repositories",
                json={"source": str(source), "name": "octo/app"},
                headers=bearer(tokens[Role.ADMIN]),
            )
            assert_problem(response, 422, detail)

    async def test_a_duplicate_is_409_and_an_unknown_repository_404(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        body = {"source": str(work_tree(tmp_path / "app")), "name": "octo/app"}
        await api.post("/api/repositories", json=body, headers=admin)

        duplicate = await api.post(
            "/api/repositories", json={**body, "name": "OCTO/app"}, headers=admin
        )
        assert_problem(duplicate, 409, "octo/app is already registered")
        for response in (
            await api.get("/api/repositories/octo/nope", headers=admin),
            await api.delete("/api/repositories/octo/nope", headers=admin),
            await api.put("/api/repositories/octo/app/dependencies/octo/nope", headers=admin),
        ):
            assert_problem(response, 404, "No repository named 'octo/nope' is registered")

    async def test_an_unknown_body_field_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.post(
            "/api/repositories",
            json={"source": "/x", "name": "octo/app", "token": "x"},
            headers=bearer(tokens[Role.ADMIN]),
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")


class TestCloning:
    async def test_a_url_is_cloned_into_the_home_and_removed_with_the_entry(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: Tokens, tmp_path: Path
    ) -> None:
        bare = bare_repository(tmp_path / "upstream.git", branch="trunk")
        admin = bearer(tokens[Role.ADMIN])

        created = await api.post(
            "/api/repositories",
            json={"source": bare.as_uri(), "name": "octo/lib", "forge": "gitlab"},
            headers=admin,
        )

        clone = runtime.settings.home / "repositories" / "octo" / "lib"
        assert created.status_code == 201, created.text
        assert created.json() | {"created_at": None} == {
            "name": "octo/lib", "forge": "gitlab", "path": str(clone), "remote": "origin",
            "url": bare.as_uri(), "default_branch": "trunk", "cloned": True, "seed": False,
            "depends_on": [], "created_at": None,
        }  # fmt: skip
        assert (clone / ".git").is_dir()

        assert (await api.delete("/api/repositories/octo/lib", headers=admin)).status_code == 204
        assert not clone.exists()

    async def test_a_failed_clone_is_a_502_problem_and_stores_nothing(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: Tokens, tmp_path: Path
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        missing = (tmp_path / "missing.git").as_uri()

        response = await api.post(
            "/api/repositories", json={"source": missing, "name": "octo/lib"}, headers=admin
        )

        assert_problem(response, 502, f"Could not clone {missing}")
        assert not (runtime.settings.home / "repositories").exists() or not any(
            (runtime.settings.home / "repositories").iterdir()
        )
        assert (await api.get("/api/repositories", headers=admin)).json()["items"] == []


class TestAuditAndEvents:
    async def test_each_change_is_audited_and_announced(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        for name in ("app", "lib"):
            await api.post(
                "/api/repositories",
                json={"source": str(work_tree(tmp_path / name)), "name": f"octo/{name}"},
                headers=admin,
            )
        declared = await api.put("/api/repositories/octo/app/dependencies/octo/lib", headers=admin)
        assert declared.json()["depends_on"] == ["octo/lib"]
        undeclared = await api.delete(
            "/api/repositories/octo/app/dependencies/octo/lib", headers=admin
        )
        assert undeclared.json()["depends_on"] == []
        await api.delete("/api/repositories/octo/lib", headers=admin)

        events = await api.get("/api/events", params={"type": "repository.*"}, headers=admin)
        audit = await api.get("/api/audit", params={"action": "repository.add"}, headers=admin)

        assert [(e["type"], e["subject"]) for e in events.json()["items"]] == [
            ("repository.added", "octo/app"),
            ("repository.added", "octo/lib"),
            ("repository.dependency_declared", "octo/app"),
            ("repository.dependency_removed", "octo/app"),
            ("repository.removed", "octo/lib"),
        ]
        assert events.json()["items"][4]["payload"] == {"name": "octo/lib", "clone_removed": False}
        assert sorted(r["subject"] for r in audit.json()["items"]) == ["octo/app", "octo/lib"]


async def test_the_graph_endpoint_reports_a_cycle_without_failing(
    api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
) -> None:
    admin = bearer(tokens[Role.ADMIN])
    go = work_tree(
        tmp_path / "go", {"go.mod": "module example.com/go\nrequire example.com/rs v1\n"}
    )
    rs = work_tree(tmp_path / "rs", {"Cargo.toml": '[package]\nname = "rs"\n'})
    js = work_tree(tmp_path / "js", {"package.json": json.dumps({"name": "js"})})
    for name, path in (("octo/go", go), ("octo/rs", rs), ("octo/js", js)):
        await api.post("/api/repositories", json={"source": str(path), "name": name}, headers=admin)
    (rs / "Cargo.toml").write_text(
        '[package]\nname = "rs"\n[dependencies]\njs = { git = "https://github.com/octo/js" }\n'
    )
    (js / "package.json").write_text(
        json.dumps({"name": "js", "dependencies": {"go": "file:../go"}})
    )
    (go / "go.mod").write_text(
        "module example.com/go\nrequire example.com/rs v1\nreplace example.com/rs => ../rs\n"
    )

    graph = (await api.get("/api/repositories/graph", headers=admin)).json()

    assert [(e["repository"], e["depends_on"]) for e in graph["edges"]] == [
        ("octo/go", "octo/rs"),
        ("octo/js", "octo/go"),
        ("octo/rs", "octo/js"),
    ]
    assert graph["cycles"] == [["octo/go", "octo/js", "octo/rs"]]
    assert graph["order"] == ["octo/go", "octo/js", "octo/rs"]
