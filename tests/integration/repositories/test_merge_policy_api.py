"""``/api/repositories/{owner}/{name}/merge-policy``: any token reads the policy (the
default until changed), operators and admins replace it, bad input is a 4xx problem,
and each change is audited and announced."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orchestrate.auth.models import Role
from tests.integration.repositories.git_repositories import work_tree
from tests.integration.repositories.test_api import Tokens, assert_problem
from tests.support import bearer

POLICY = "/api/repositories/octo/app/merge-policy"


@pytest.fixture
async def registered(api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path) -> None:
    body = {"source": str(work_tree(tmp_path / "app")), "name": "octo/app"}
    added = await api.post("/api/repositories", json=body, headers=bearer(tokens[Role.ADMIN]))
    assert added.status_code == 201, added.text


@pytest.mark.usefixtures("registered")
class TestReadingAndChanging:
    async def test_a_repository_has_the_default_policy_until_changed(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        shown = await api.get(POLICY, headers=bearer(tokens[Role.VIEWER]))

        assert shown.status_code == 200, shown.text
        assert shown.json() == {
            "repository": "octo/app", "required_approvals": 1, "required_checks": [],
            "method": "squash", "auto_merge": False, "require_up_to_date": False,
            "count_stale_approvals": True, "default": True, "seed": False,
            "updated_at": None, "updated_by": None,
        }  # fmt: skip

    async def test_an_operator_replaces_it_and_fields_left_out_take_their_defaults(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        operator = bearer(tokens[Role.OPERATOR])
        await api.put(POLICY, json={"auto_merge": True, "method": "rebase"}, headers=operator)

        changed = await api.put(
            "/api/repositories/Octo/App/merge-policy",
            json={"required_approvals": 2, "required_checks": ["test", "lint"]},
            headers=operator,
        )
        shown = await api.get(POLICY, headers=bearer(tokens[Role.VIEWER]))

        assert changed.status_code == 200, changed.text
        assert shown.json() == changed.json()
        assert shown.json() | {"updated_at": None} == {
            "repository": "octo/app", "required_approvals": 2,
            "required_checks": ["test", "lint"], "method": "squash", "auto_merge": False,
            "require_up_to_date": False, "count_stale_approvals": True, "default": False,
            "seed": False, "updated_at": None, "updated_by": "token:test-operator",
        }  # fmt: skip

    async def test_each_change_is_audited_and_announced_with_the_whole_policy(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        await api.put(POLICY, json={"required_approvals": 0, "auto_merge": True}, headers=admin)
        await api.put(POLICY, json={"required_approvals": 0, "auto_merge": True}, headers=admin)

        events = await api.get(
            "/api/events", params={"type": "repository.merge_policy_changed"}, headers=admin
        )
        audit = await api.get(
            "/api/audit", params={"action": "repository.merge_policy"}, headers=admin
        )

        assert [(e["subject"], e["payload"]) for e in events.json()["items"]] == [
            ("octo/app", {
                "name": "octo/app", "required_approvals": 0, "required_checks": [],
                "method": "squash", "auto_merge": True, "require_up_to_date": False,
                "count_stale_approvals": True,
            }),
        ]  # fmt: skip
        assert [r["subject"] for r in audit.json()["items"]] == ["octo/app"]

    async def test_a_viewer_may_not_change_it(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        response = await api.put(
            POLICY, json={"required_approvals": 0}, headers=bearer(tokens[Role.VIEWER])
        )
        assert_problem(response, 403, "")

    async def test_removing_the_repository_removes_its_policy(
        self, api: httpx.AsyncClient, tokens: Tokens, tmp_path: Path
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        await api.put(POLICY, json={"required_approvals": 3}, headers=admin)
        await api.delete("/api/repositories/octo/app", headers=admin)
        body = {"source": str(tmp_path / "app"), "name": "octo/app"}
        await api.post("/api/repositories", json=body, headers=admin)

        shown = await api.get(POLICY, headers=admin)

        assert (shown.json()["default"], shown.json()["required_approvals"]) == (True, 1)


@pytest.mark.usefixtures("registered")
class TestBadInput:
    @pytest.mark.parametrize(
        ("body", "detail"),
        [
            ({"method": "fast-forward"}, "Unknown merge method 'fast-forward'"),
            ({"required_checks": [""]}, "Invalid check name ''"),
        ],
    )
    async def test_a_bad_value_is_a_422_problem_saying_what_is_wrong(
        self, api: httpx.AsyncClient, tokens: Tokens, body: dict[str, object], detail: str
    ) -> None:
        response = await api.put(POLICY, json=body, headers=bearer(tokens[Role.ADMIN]))
        assert_problem(response, 422, detail)

    @pytest.mark.parametrize(
        "body",
        [
            {"required_approvals": -1},
            {"required_approvals": 21},
            {"required_approvals": "two"},
            {"auto_merge": "sometimes"},
            {"required_checks": [f"c{i}" for i in range(51)]},
            {"admin_override": True},
        ],
    )
    async def test_a_body_out_of_bounds_or_with_unknown_fields_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: Tokens, body: dict[str, object]
    ) -> None:
        response = await api.put(POLICY, json=body, headers=bearer(tokens[Role.ADMIN]))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_an_unknown_repository_is_a_404_problem(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        for response in (
            await api.get("/api/repositories/octo/nope/merge-policy", headers=admin),
            await api.put("/api/repositories/octo/nope/merge-policy", json={}, headers=admin),
        ):
            assert_problem(response, 404, "No repository named 'octo/nope' is registered")
