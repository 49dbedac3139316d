"""GitHub App routes of the fake: the app's JWT checked, installation tokens minted.

``GET /repos/{owner}/{repo}/installation`` and ``POST /app/installations/{id}/access_tokens``
need a JWT signed (RS256) with the app's private key, issued by its id and not expired,
as GitHub checks; a minted token then works like any other for an hour.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from orchestrate.testing._github_http import Answer, error
from orchestrate.testing._github_state import FakeApp, GitHubState


def answer_app(
    state: GitHubState, method: str, path: str, headers: dict[str, str], body: Any, origin: str
) -> Answer:
    app = _authenticated_app(state, headers)
    if app is None:
        return error(401, "A JSON web token could not be decoded")
    parts = path.strip("/").split("/")
    if method == "GET" and parts == ["app"]:
        return Answer(200, {"id": int(app.app_id), "slug": app.slug, "name": app.slug})
    if method == "GET" and len(parts) == 4 and parts[0] == "repos" and parts[3] == "installation":
        installation = app.installations.get(parts[1].lower())
        if installation is None or state.repository(f"{parts[1]}/{parts[2]}") is None:
            return error(404, "Not Found")
        return Answer(
            200, {"id": installation, "account": {"login": parts[1]}, "app_id": int(app.app_id)}
        )
    if (
        method == "POST"
        and len(parts) == 4
        and parts[:2] == ["app", "installations"]
        and parts[3] == "access_tokens"
        and parts[2].isdigit()
    ):
        if int(parts[2]) not in app.installations.values():
            return error(404, "Not Found")
        token = f"ghs_{secrets.token_hex(18)}"
        state.tokens[token] = state.user(f"{app.slug}[bot]")
        expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return Answer(
            201,
            {
                "token": token,
                "expires_at": expires,
                "permissions": {},
                "repository_selection": "all",
            },
        )
    return error(404, "Not Found")


def _authenticated_app(state: GitHubState, headers: dict[str, str]) -> FakeApp | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss"))
        app = state.apps.get(issuer)
        if app is None:
            return None
        jwt.decode(token, app.public_key, algorithms=["RS256"], options={"require": ["exp", "iat"]})
    except jwt.PyJWTError:
        return None
    return app
