"""FastAPI dependencies shared by every router: the runtime, units of work, the actor.

Who a bearer token stands for is the ``auth`` capability's business, and this toolkit
imports no capability: the composition root hands the app an :data:`Authenticator`
(``install_authenticator``), and ``require_actor`` asks it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from orchestrate.core.errors import AuthenticationFailed, ConfigurationError
from orchestrate.core.identity import Actor, Permission, authorize
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork

Authenticator = Callable[[Runtime, str, str], Awaitable[Actor]]
"""``(runtime, bearer token, client address) -> Actor``; raises ``AuthenticationFailed``."""

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_bearer = HTTPBearer(auto_error=False, description="An API token from 'orchestrate token create'")


# Dependencies are ``async def`` although they never await: FastAPI runs a plain ``def``
# dependency in a thread pool, a thread hand-off per request for a dictionary lookup.


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


def install_authenticator(app: FastAPI, authenticate: Authenticator) -> None:
    """Make ``authenticate`` the judge of every bearer token this app receives."""
    app.state.authenticator = authenticate


def _authenticator(request: Request) -> Authenticator:
    authenticate: Authenticator | None = getattr(request.app.state, "authenticator", None)
    if authenticate is None:  # an app assembled without auth must refuse, not let all in
        raise ConfigurationError("This app has no authenticator installed")
    return authenticate


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
    actor = await _authenticator(request)(runtime, credentials.credentials, source)
    needed = Permission.READ if request.method in _READ_METHODS else Permission.WRITE
    authorize(actor, needed)
    request.state.actor = actor
    return actor


ActorDep = Annotated[Actor, Depends(require_actor)]


async def require_admin(actor: ActorDep) -> Actor:
    authorize(actor, Permission.ADMIN)
    return actor


AdminDep = Annotated[Actor, Depends(require_admin)]
