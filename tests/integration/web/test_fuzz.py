"""Random requests built from the OpenAPI schema: the server answers, never with a 500.

A small, offline stand-in for schemathesis: every operation of the auth, jobs and
monitoring routers gets random path parameters, query parameters and JSON bodies.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.web.app import create_app
from tests.support import bearer

FUZZED_TAGS = {"auth", "jobs", "monitoring", "pipelines"}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
texts = st.text(max_size=60) | st.sampled_from(["", "0", "-1", "10" * 20, "true", "null"])


@functools.cache
def operations() -> list[tuple[str, str, list[dict[str, Any]], bool]]:
    """(method, path template, parameters, has a body) of every fuzzed operation."""
    found = []
    for template, items in _schema()["paths"].items():
        for method, operation in items.items():
            if not FUZZED_TAGS & set(operation.get("tags", [])):
                continue
            found.append(
                (
                    method.upper(),
                    template,
                    operation.get("parameters", []),
                    "requestBody" in operation,
                )
            )
    return found


def _schema() -> dict[str, Any]:
    from unittest.mock import sentinel

    # The schema does not depend on the runtime; any object stands in for it here.
    schema: dict[str, Any] = create_app(sentinel.runtime).openapi()
    return schema


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, str], Any]:
    method, template, parameters, has_body = draw(st.sampled_from(operations()))
    path = template
    query: dict[str, str] = {}
    for parameter in parameters:
        if parameter["in"] == "path":
            value = draw(texts.filter(lambda t: t not in ("", ".", "..")))
            path = path.replace("{" + parameter["name"] + "}", quote(value, safe=""))
        elif parameter["in"] == "query" and draw(st.booleans()):
            query[parameter["name"]] = draw(texts)
    body = (
        draw(json_values | st.fixed_dictionaries({"name": texts, "role": texts}))
        if has_body
        else None
    )
    return method, path, query, body


@pytest.mark.parametrize("role", [Role.ADMIN, Role.VIEWER])
@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=requests())
async def test_random_requests_get_an_answer_and_never_a_500(
    api: httpx.AsyncClient,
    runtime: Runtime,
    tokens: dict[Role, str],
    role: Role,
    request: tuple[str, str, dict[str, str], Any],
) -> None:
    method, path, query, body = request

    response = await api.request(
        method, path, params=query, json=body, headers=bearer(tokens[role])
    )

    assert response.status_code < 500, (method, path, query, body, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code
