"""The FastAPI application: every capability's router behind one auth and error policy."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse

from orchestrate import __version__
from orchestrate.agents import api as agents_api
from orchestrate.auth import api as auth_api
from orchestrate.core.runtime import Runtime
from orchestrate.monitoring import api as monitoring_api
from orchestrate.monitoring.metrics import HttpMetricsMiddleware
from orchestrate.pipelines import api as pipelines_api
from orchestrate.schedules import api as schedules_api
from orchestrate.schedules.service import follow_pipelines
from orchestrate.secrets import api as secrets_api
from orchestrate.stories import api as stories_api
from orchestrate.triggers import api as triggers_api
from orchestrate.triggers import receiver as webhook_receiver
from orchestrate.triggers.inbox import DeliveryInbox
from orchestrate.web.deps import require_actor
from orchestrate.web.errors import install_error_handlers
from orchestrate.web.limits import BodyLimitMiddleware
from orchestrate.web.openapi import install_problem_responses

DESCRIPTION = """
Orchestrate puts AI agents to work on software delivery.

Every `/api` route except `/api/health` needs `Authorization: Bearer <token>`; create a
token with `orchestrate token create --name NAME --role admin|operator|viewer`.
Viewers may read; operators may also change things; admins also manage tokens.
Errors are RFC 9457 problem documents (`application/problem+json`).
"""


def create_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(
        title="Orchestrate",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    follow_pipelines()
    # One inbox per app, so concurrent deliveries share transactions (triggers/inbox.py);
    # urgent, because GitHub waits on each of them.
    app.state.delivery_inbox = DeliveryInbox(lambda: runtime.uow(urgent=True))
    install_error_handlers(app)
    install_problem_responses(app)
    app.add_middleware(
        BodyLimitMiddleware,
        api_limit=runtime.settings.api_max_body_bytes,
        webhook_limit=runtime.settings.webhook_max_body_bytes,
    )
    app.add_middleware(HttpMetricsMiddleware)

    # Authentication is declared once for the whole /api tree, so no route can forget it.
    api = APIRouter(prefix="/api", dependencies=[Depends(require_actor)])
    api.include_router(auth_api.router)
    api.include_router(secrets_api.router)
    api.include_router(stories_api.router)
    api.include_router(agents_api.router)
    api.include_router(pipelines_api.router)
    api.include_router(monitoring_api.router)
    api.include_router(triggers_api.router)
    api.include_router(schedules_api.router)
    app.include_router(monitoring_api.public_router)
    app.include_router(webhook_receiver.router)  # signed by GitHub, not bearer tokens
    app.include_router(api)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/api/docs")

    return app
