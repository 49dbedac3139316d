"""The FastAPI application: every capability's router behind one auth and error policy."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from orchestrate import __version__
from orchestrate.app import capabilities
from orchestrate.core.runtime import Runtime
from orchestrate.web.deps import require_actor
from orchestrate.web.errors import install_error_handlers
from orchestrate.web.limits import BodyLimitMiddleware
from orchestrate.web.openapi import install_problem_responses
from orchestrate.web.streams import install_stream_slots
from orchestrate.web.tracing import TracingMiddleware

DESCRIPTION = """
Orchestrate puts AI agents to work on software delivery.

Every `/api` route except `/api/health` needs `Authorization: Bearer <token>`; create a
token with `orchestrate token create --name NAME --role admin|operator|viewer`.
Viewers may read; operators may also change things; admins also manage tokens.
Errors are RFC 9457 problem documents (`application/problem+json`).
"""


def create_app(runtime: Runtime) -> FastAPI:
    """The whole HTTP surface of one process, on ``runtime``."""
    app = FastAPI(
        title="Orchestrate",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    install_stream_slots(app, runtime.settings.max_streams_per_token)
    install_error_handlers(app)
    install_problem_responses(app)
    app.add_middleware(
        BodyLimitMiddleware,
        api_limit=runtime.settings.api_max_body_bytes,
        webhook_limit=runtime.settings.webhook_max_body_bytes,
    )
    # Middleware added later wraps what came before: the capabilities' (request
    # metrics) sees every request, the body limit's refusals included.
    for install in capabilities.web_installers():
        install(app, runtime)
    # Outermost: the request's span is current in everything the request runs.
    app.add_middleware(TracingMiddleware)

    # Authentication is declared once for the whole /api tree, so no route can forget it.
    api = APIRouter(prefix="/api", dependencies=[Depends(require_actor)])
    for router in capabilities.routers():
        api.include_router(router)
    for router in capabilities.public_routers():
        app.include_router(router)
    app.include_router(api)
    return app
