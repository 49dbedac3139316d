"""The web toolkit authenticates through whatever the composition root installed."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from orchestrate.core.errors import AuthenticationFailed
from orchestrate.core.identity import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.web.deps import ActorDep, install_authenticator
from orchestrate.web.errors import install_error_handlers


def _app(runtime: Runtime) -> FastAPI:
    app = FastAPI()
    app.state.runtime = runtime
    install_error_handlers(app)

    @app.post("/whoami")
    async def whoami(actor: ActorDep) -> dict[str, str]:
        return {"name": actor.name, "role": actor.role.value}

    return app


async def _post(app: FastAPI, token: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post("/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_the_installed_authenticator_decides_who_a_token_stands_for(
    runtime: Runtime,
) -> None:
    seen: list[tuple[str, str]] = []

    async def authenticate(_runtime: Runtime, token: str, source: str) -> Actor:
        seen.append((token, source))
        if token != "good":
            raise AuthenticationFailed("unknown token")
        return Actor(name="test:good", role=Role.OPERATOR, source=source)

    app = _app(runtime)
    install_authenticator(app, authenticate)

    accepted = await _post(app, "good")
    refused = await _post(app, "bad")

    assert accepted.json() == {"name": "test:good", "role": "operator"}
    assert refused.status_code == 401
    assert seen == [("good", "203.0.113.7"), ("bad", "203.0.113.7")]


async def test_an_app_without_an_authenticator_refuses_every_token(runtime: Runtime) -> None:
    response = await _post(_app(runtime), "anything")

    assert response.status_code != 200
    assert response.headers["content-type"] == "application/problem+json"
    assert "no authenticator" in response.json()["detail"]
