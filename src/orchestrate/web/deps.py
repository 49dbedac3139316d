"""FastAPI dependencies shared by every router: the runtime, units of work, the actor."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import AuthenticationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="An API token from 'orchestrate token create'")


# Dependencies are ``async def`` although they never await: FastAPI runs a plain ``def``
# dependency in a thread pool, a thread hand-off per request for a dictionary lookup.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_uow(runtime: RuntimeDep, request: Request) -> UnitOfWork:
    """A unit of work; read-only (a deferred SQLite transaction) for GET requests.

    Urgent: a person or a client waits on it, so it goes before background writers.
    """
    return runtime.uow(read_only=request.method in _READ_METHODS, urgent=True)


UowDep = Annotated[UnitOfWork, Depends(get_uow)]


async def require_actor(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """Authenticate the bearer token; reads need a viewer, anything else an operator."""
    if credentials is None:
        raise AuthenticationFailed(
            "Missing API token: send 'Authorization: Bearer <token>' "
            "(create one with 'orchestrate token create')"
        )
    source = request.client.host if request.client else "unknown"
    actor = await auth.authenticate(
        runtime.uow(read_only=True), runtime.uow(), credentials.credentials, source
    )
    needed = Permission.READ if request.method in _READ_METHODS else Permission.WRITE
    auth.authorize(actor, needed)
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(require_actor)]


async def require_admin(actor: ActorDep) -> Actor:
    auth.authorize(actor, Permission.ADMIN)
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]
