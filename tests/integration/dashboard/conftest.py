"""A browser's view of the real app, in process: sign in with a token, keep the cookie,
read the CSRF token off the page as a form would carry it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.conftest import app_on

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@dataclass
class Browser:
    """An HTTP client holding a dashboard session, as a browser would."""

    http: httpx.AsyncClient
    csrf_token: str

    async def get(self, path: str) -> httpx.Response:
        return await self.http.get(path)

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        """A form post from one of our pages: with the session's CSRF token."""
        return await self.http.post(path, data={"csrf_token": self.csrf_token, **(data or {})})


def csrf_token_in(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


SignIn = Callable[[Role], Awaitable[Browser]]


@pytest.fixture
async def sign_in(runtime: Runtime, tokens: dict[Role, str]) -> AsyncIterator[SignIn]:
    """``await sign_in(Role.VIEWER)``: a browser signed in with that role's token."""
    clients: list[httpx.AsyncClient] = []

    async def open_session(role: Role) -> Browser:
        transport = httpx.ASGITransport(app=app_on(runtime), client=("203.0.113.7", 50000))
        http = httpx.AsyncClient(transport=transport, base_url="http://orchestrate.test")
        clients.append(http)
        signed = await http.post("/ui/login", data={"token": tokens[role], "next": "/ui/"})
        assert signed.status_code == 303, signed.text
        home = await http.get("/ui/")
        assert home.status_code == 200, home.text
        return Browser(http, csrf_token_in(home.text))

    yield open_session
    for client in clients:
        await client.aclose()
