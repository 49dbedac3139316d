"""What the composition root mounts: every page router, and the dashboard's files.

``routers`` lists each page module's router (a new page group adds one line here and one
in ``nav.py``); ``install`` serves ``static/`` (ours) and ``vendor/`` (third-party
release files, unmodified, with their licences) from inside the package.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from orchestrate.core.runtime import Runtime
from orchestrate.dashboard.pages import (
    agent_detail,
    agents,
    approvals,
    epics,
    home,
    live,
    login,
    monitoring,
    pipelines,
    pull_requests,
    repositories,
    run_logs,
    runs,
    schedules,
    security,
    stories,
    webhooks,
)
from orchestrate.dashboard.render import STATIC_PREFIX, VENDOR_PREFIX

_HERE = Path(__file__).parent

router = APIRouter(include_in_schema=False)
PAGES = (
    login,
    live,
    home,
    agents,
    agent_detail,
    approvals,
    pipelines,
    runs,
    run_logs,
    stories,
    epics,
    pull_requests,
    security,
    repositories,
    schedules,
    webhooks,
    monitoring,
)
for page in PAGES:
    router.include_router(page.router)


def install(app: FastAPI, runtime: Runtime) -> None:
    del runtime  # the files are the same for every process
    app.mount(STATIC_PREFIX, StaticFiles(directory=_HERE / "static"), name="dashboard-static")
    app.mount(VENDOR_PREFIX, StaticFiles(directory=_HERE / "vendor"), name="dashboard-vendor")
