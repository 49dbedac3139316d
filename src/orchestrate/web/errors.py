"""Every error leaves the API as RFC 9457 problem JSON; this is the one place that maps
domain errors to HTTP statuses.

Unexpected exceptions become a 500 problem without internals (the traceback goes to
the log), so no request ever shows a stack trace. A value the database refuses to store
or compare (PostgreSQL's "data exception" class, e.g. a NUL character in a string)
came from the request, so it is the client's 422, not the server's 500. A database that
is locked, full or refusing connections, or a full disk, is a 503 with ``Retry-After``
(``web/unavailable.py``): the request was fine and will succeed later.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from orchestrate.core.errors import (
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    IntegrationError,
    NotFound,
    OrchestrateError,
    PermissionDenied,
    ValidationFailed,
)
from orchestrate.core.logging import redact_text
from orchestrate.web.unavailable import unavailable_for

log = structlog.get_logger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

_STATUS_BY_ERROR: tuple[tuple[type[OrchestrateError], int], ...] = (
    (NotFound, 404),
    (Conflict, 409),
    (ValidationFailed, 422),
    (AuthenticationFailed, 401),
    (PermissionDenied, 403),
    (IntegrationError, 502),
    # The server lacks a setting or credential the request needs (a forge token, a
    # model key): not the client's fault, and nothing a retry cures until an operator
    # configures it — but not a crash either.
    (ConfigurationError, 503),
)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_CONTENT_TYPE


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> ProblemResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(jsonable_encoder(extensions))
    return ProblemResponse(body, status_code=status, headers=headers)


def status_for(error: OrchestrateError) -> int:
    for error_type, status in _STATUS_BY_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def _slug(error: OrchestrateError) -> str:
    name = type(error).__name__
    return "".join(f"-{c.lower()}" if c.isupper() else c for c in name).lstrip("-")


async def _on_domain_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, OrchestrateError)
    status = status_for(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    context = {k: v for k, v in error.context.items() if k not in {"type", "title", "status"}}
    return problem(
        status,
        error.title,
        error.message,
        type_=f"urn:orchestrate:problem:{_slug(error)}",
        instance=request.url.path,
        headers=headers,
        **context,
    )


async def _on_validation_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(item.get("loc", ())), "msg": item.get("msg", ""), "type": item.get("type", "")}
        for item in error.errors()
    ]
    summary = "; ".join(
        f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in errors
    )
    return problem(
        422,
        "Invalid request",
        summary or "The request is invalid",
        type_="urn:orchestrate:problem:invalid-request",
        instance=request.url.path,
        errors=errors,
    )


async def _on_http_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, StarletteHTTPException)
    try:
        title = HTTPStatus(error.status_code).phrase
    except ValueError:
        title = "Error"
    return problem(
        error.status_code,
        title,
        str(error.detail),
        instance=request.url.path,
        headers=dict(error.headers) if error.headers else None,
    )


async def _on_database_error(request: Request, error: Exception) -> ProblemResponse:
    assert isinstance(error, DBAPIError)
    retry_after = unavailable_for(error.orig)
    if retry_after is not None:
        return _unavailable(request, error, retry_after)
    if not _is_rejected_value(error):
        return await _on_unexpected_error(request, error)
    reason = redact_text(str(error.orig)).strip().splitlines()[:1] or ["invalid value"]
    return problem(
        422,
        "Invalid request",
        f"The database cannot take a value in this request: {reason[0]}",
        type_="urn:orchestrate:problem:invalid-request",
        instance=request.url.path,
    )


def _is_rejected_value(error: DBAPIError) -> bool:
    # SQLSTATE class 22 is PostgreSQL's "data exception"; asyncpg also reports
    # parameters it cannot encode (an integer beyond 64 bits) under it.
    sqlstate = getattr(error.orig, "sqlstate", None)
    return isinstance(error, DataError) or (isinstance(sqlstate, str) and sqlstate[:2] == "22")


async def _on_os_error(request: Request, error: Exception) -> ProblemResponse:
    retry_after = unavailable_for(error)
    if retry_after is not None:
        return _unavailable(request, error, retry_after)
    return await _on_unexpected_error(request, error)


def _unavailable(request: Request, error: BaseException, retry_after: int) -> ProblemResponse:
    log.warning(
        "request_refused_unavailable",
        path=request.url.path,
        error=redact_text(str(error)).splitlines()[:1],
        retry_after=retry_after,
    )
    return problem(
        503,
        "Service Unavailable",
        "The server cannot store anything right now (its database is busy or unreachable, "
        "or its disk is full); nothing was changed. Retry after the time in Retry-After.",
        type_="urn:orchestrate:problem:unavailable",
        instance=request.url.path,
        headers={"Retry-After": str(retry_after)},
    )


async def _on_unexpected_error(request: Request, error: Exception) -> ProblemResponse:
    log.exception("unhandled_request_error", path=request.url.path, method=request.method)
    return problem(
        500,
        "Internal Server Error",
        "The server failed to handle this request; the details are in its log.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OrchestrateError, _on_domain_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(DBAPIError, _on_database_error)
    app.add_exception_handler(OSError, _on_os_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
