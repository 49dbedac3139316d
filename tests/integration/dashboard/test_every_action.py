"""Every state-changing route of the dashboard, found from the app itself: none works
without the session's CSRF token, and none works for a viewer.

New pages are covered the moment they are mounted; a route that forgets ``WriterDep``
fails here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.conftest import app_on
from tests.integration.dashboard.conftest import SignIn

pytestmark = pytest.mark.asyncio

OPEN_TO_ANYONE = {"/ui/login"}  # signing in needs no session (it makes one)


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    """Every route, through the routers included in others (the dashboard mounts its
    page routers without a prefix)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router.routes)


def dashboard_actions(runtime: Runtime) -> list[str]:
    """Every POST path under /ui/, path parameters filled with a placeholder."""
    paths = {
        re.sub(r"\{[^}]+\}", "x", route.path)
        for route in _routes(app_on(runtime).routes)
        if route.path.startswith("/ui/")
        and "POST" in (route.methods or ())
        and route.path not in OPEN_TO_ANYONE
    }
    return sorted(paths)


async def test_the_dashboard_has_actions_to_check(runtime: Runtime) -> None:
    assert "/ui/logout" in dashboard_actions(runtime)


async def test_no_action_works_without_a_session(runtime: Runtime, api: httpx.AsyncClient) -> None:
    for path in dashboard_actions(runtime):
        answer = await api.post(path, data={})
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/ui/login"), path


async def test_no_action_works_without_the_csrf_token(runtime: Runtime, sign_in: SignIn) -> None:
    browser = await sign_in(Role.ADMIN)
    for path in dashboard_actions(runtime):
        forged = await browser.http.post(path, data={})
        assert forged.status_code == 403, (path, forged.status_code)
        other = await browser.http.post(path, data={"csrf_token": "f" * 64})
        assert other.status_code == 403, (path, other.status_code)


async def test_no_action_but_signing_out_works_for_a_viewer(
    runtime: Runtime, sign_in: SignIn
) -> None:
    browser = await sign_in(Role.VIEWER)
    for path in dashboard_actions(runtime):
        if path == "/ui/logout":
            continue
        refused = await browser.post(path)
        assert refused.status_code == 403, (path, refused.status_code)
        assert "may not write" in refused.text, path
