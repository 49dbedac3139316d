"""The OpenAPI document declares the problem responses each operation really returns.

Written in one place from what the app does rather than by hand on each route: every
error is a problem document (``web/errors.py``), and which ones an operation can return
follows from its shape —

* 401 and 403: it needs a bearer token (any route may refuse a role: tokens are
  admin-only, writes need an operator);
* 404: it has a path parameter or changes something (a body may name another thing);
  409: it changes something (a state may not allow it);
* 400 and 413: it takes a body (unparseable JSON; over the body limit, ``web/limits.py``);
* 422: it takes any input; FastAPI's own 422 schema is replaced, since the app answers
  with a problem, not ``{"detail": [...]}``;
* 503: every operation reaches the database (locked, full or unreachable).

Responses a route declares itself (a 422 listing pipeline problems, the webhook
receiver's 401) are kept as they are.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

__all__ = ["PROBLEM_SCHEMA", "install_problem_responses"]

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; extensions vary by problem type.",
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "required": ["type", "title", "status", "detail"],
    "additionalProperties": True,
}
_DESCRIPTIONS = {
    "400": "The body is not valid JSON.",
    "401": "No bearer token, or an unknown, expired or revoked one.",
    "403": "The token's role may not do this.",
    "404": "Nothing has this id or name.",
    "409": "The thing is in a state that does not allow this now.",
    "413": "The body is over the route's limit (`api_max_body_bytes`, 1 MiB by default).",
    "422": "The request is invalid; `errors` or `problems` say where.",
    "429": "Too many at once; retry after `Retry-After` seconds.",
    "503": "The database is locked, full or unreachable, or the disk is full; "
    "retry after `Retry-After` seconds.",
}
_WRITES = {"post", "put", "patch", "delete"}


def install_problem_responses(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with the problem responses added."""

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            add_problem_responses(generate())  # FastAPI caches what it returns
        return generate()

    app.openapi = openapi  # type: ignore[method-assign]


def add_problem_responses(document: dict[str, Any]) -> None:
    document.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in _statuses(path, method, operation):
                _declare(responses, status)


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation or method in {"post", "put", "patch"}
    statuses = ["503"]
    if operation.get("security"):
        statuses += ["401", "403"]
    is_api_write = method in _WRITES and path.startswith("/api/")
    if is_api_write or any(parameter.get("in") == "path" for parameter in parameters):
        statuses.append("404")  # a write may name another thing: an agent type, a story
    if is_api_write:
        statuses.append("409")
    if has_body:
        statuses += ["400", "413"]
    if parameters or has_body:
        statuses.append("422")
    return statuses


def _declare(responses: dict[str, Any], status: str) -> None:
    existing = responses.get(status)
    if existing is not None and not _is_fastapi_validation_error(existing):
        content = existing.setdefault("content", {})
        problem = content.setdefault("application/problem+json", {})
        problem.setdefault("schema", _PROBLEM_REF)
        return
    responses[status] = {
        "description": _DESCRIPTIONS[status],
        "content": {"application/problem+json": {"schema": _PROBLEM_REF}},
    }


def _is_fastapi_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))
