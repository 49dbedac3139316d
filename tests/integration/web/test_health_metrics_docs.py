"""Health, Prometheus metrics, the OpenAPI schema and the interactive docs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from orchestrate import __version__
from orchestrate.app.http import create_app
from orchestrate.auth.models import Role
from orchestrate.core.db import create_database
from orchestrate.core.jobs import JobKind, NoPayload, enqueue
from orchestrate.core.jobs.queue import claim_due_jobs
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import SandboxMode, Settings
from tests.support import bearer

METRICS = JobKind("test.metrics", NoPayload)
OTHER = JobKind("test.other", NoPayload)


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format, or None when absent."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return None


@pytest.fixture
async def unreachable_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a PostgreSQL server that is not there (nothing listens on port 1)."""
    url = "postgresql+asyncpg://orchestrate@127.0.0.1:1/orchestrate"
    settings = Settings(home=tmp_path, database_url=SecretStr(url))
    runtime = Runtime(settings=settings, database=create_database(url))
    transport = httpx.ASGITransport(app=create_app(runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client
    finally:
        await runtime.close()


class TestHealth:
    async def test_health_reports_the_version_and_a_reachable_database(
        self, api: httpx.AsyncClient, engine_name: str
    ) -> None:
        response = await api.get("/api/health")

        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "version": __version__,
            "database": engine_name,
            "database_reachable": True,
            "sandbox": "bubblewrap",
            "warnings": [],
        }

    async def test_health_warns_when_the_sandbox_is_off(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        runtime.settings.sandbox = SandboxMode.NONE

        body = (await api.get("/api/health")).json()

        assert body["sandbox"] == "none"
        assert "unconfined" in body["warnings"][0]

    async def test_an_unreachable_database_makes_health_503_degraded(
        self, unreachable_api: httpx.AsyncClient
    ) -> None:
        response = await unreachable_api.get("/api/health")

        assert response.status_code == 503
        assert response.json()["status"] == "degraded"
        assert response.json()["database_reachable"] is False

    async def test_metrics_still_answer_when_the_database_is_down(
        self, unreachable_api: httpx.AsyncClient
    ) -> None:
        response = await unreachable_api.get("/metrics")

        assert response.status_code == 200
        assert "orchestrate_http_requests_total" in response.text


class TestMetrics:
    async def test_metrics_need_no_token_and_use_the_prometheus_text_format(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await api.get("/metrics")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        for name in (
            "orchestrate_http_requests_total",
            "orchestrate_http_request_duration_seconds",
            "orchestrate_job_queue_depth",
            "orchestrate_job_queue_oldest_age_seconds",
            "orchestrate_jobs_processed_total",
        ):
            assert f"# TYPE {name.removesuffix('_total')}" in response.text, name

    async def test_requests_are_counted_by_route_template_not_by_raw_id(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        before = (
            sample(
                (await api.get("/metrics")).text,
                "orchestrate_http_requests_total",
                method="GET",
                route="/api/jobs/{job_id}",
                status="404",
            )
            or 0.0
        )

        for job_id in ("job_first_unknown", "job_second_unknown"):
            await api.get(f"/api/jobs/{job_id}", headers=bearer(tokens[Role.VIEWER]))

        metrics = (await api.get("/metrics")).text
        after = sample(
            metrics,
            "orchestrate_http_requests_total",
            method="GET",
            route="/api/jobs/{job_id}",
            status="404",
        )
        assert after == before + 2
        assert "job_first_unknown" not in metrics
        assert "job_second_unknown" not in metrics

    async def test_latency_is_observed_per_route_template(self, api: httpx.AsyncClient) -> None:
        await api.get("/api/health")

        metrics = (await api.get("/metrics")).text

        count = sample(
            metrics,
            "orchestrate_http_request_duration_seconds_count",
            method="GET",
            route="/api/health",
        )
        assert count is not None
        assert count >= 1

    async def test_requests_to_unknown_paths_share_one_label(self, api: httpx.AsyncClient) -> None:
        await api.get("/no/such/path/12345")

        metrics = (await api.get("/metrics")).text

        assert "/no/such/path/12345" not in metrics
        unmatched = sample(
            metrics,
            "orchestrate_http_requests_total",
            method="GET",
            route="unmatched",
            status="404",
        )
        assert unmatched is not None
        assert unmatched >= 1

    async def test_queue_depth_and_oldest_age_follow_the_jobs_table(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        async with runtime.uow() as uow:
            earlier = uow.now() - timedelta(minutes=5)
            await enqueue(uow, METRICS, NoPayload(), run_at=earlier)
            await enqueue(uow, METRICS, NoPayload())
            await enqueue(uow, METRICS, NoPayload(), run_at=uow.now() + timedelta(hours=1))
            await uow.commit()

        metrics = (await api.get("/metrics")).text

        assert sample(metrics, "orchestrate_job_queue_depth", kind="test.metrics") == 3
        age = sample(metrics, "orchestrate_job_queue_oldest_age_seconds", kind="test.metrics")
        assert age is not None
        assert 300 <= age < 400
        assert (
            sample(metrics, "orchestrate_job_queue_jobs", kind="test.metrics", status="queued") == 3
        )

    async def test_an_empty_queue_has_no_depth_or_age_series(self, api: httpx.AsyncClient) -> None:
        metrics = (await api.get("/metrics")).text

        assert "orchestrate_job_queue_depth{" not in metrics
        assert "orchestrate_job_queue_oldest_age_seconds{" not in metrics

    async def test_depth_and_age_are_by_kind_and_zero_for_a_kind_with_only_running_jobs(
        self, api: httpx.AsyncClient, runtime: Runtime
    ) -> None:
        async with runtime.uow() as uow:
            await enqueue(uow, METRICS, NoPayload(), run_at=uow.now() - timedelta(minutes=1))
            await enqueue(uow, OTHER, NoPayload(), run_at=uow.now() - timedelta(minutes=10))
            await uow.commit()
        async with runtime.uow() as uow:
            claimed = await claim_due_jobs(
                uow.session,
                owner="test-worker",
                kinds=[OTHER.name],
                limit=10,
                now=uow.now(),
                lease=timedelta(minutes=1),
            )
            await uow.commit()
        assert len(claimed) == 1

        metrics = (await api.get("/metrics")).text

        assert sample(metrics, "orchestrate_job_queue_depth", kind="test.metrics") == 1
        age = sample(metrics, "orchestrate_job_queue_oldest_age_seconds", kind="test.metrics")
        assert age is not None
        assert 60 <= age < 120
        assert sample(metrics, "orchestrate_job_queue_depth", kind="test.other") == 0
        assert sample(metrics, "orchestrate_job_queue_oldest_age_seconds", kind="test.other") == 0
        running = sample(metrics, "orchestrate_job_queue_jobs", kind="test.other", status="running")
        assert running == 1


class TestOpenApiAndDocs:
    async def test_the_openapi_schema_is_served_without_a_token(
        self, api: httpx.AsyncClient
    ) -> None:
        response = await api.get("/api/openapi.json")

        assert response.status_code == 200
        schema = response.json()
        assert schema["info"]["version"] == __version__
        assert {
            "/api/health",
            "/api/tokens",
            "/api/tokens/{name}",
            "/api/audit",
            "/api/jobs",
            "/api/jobs/{job_id}",
            "/api/jobs/{job_id}/retry",
            "/api/jobs/{job_id}/cancel",
        } <= set(schema["paths"])

    async def test_the_schema_declares_bearer_authentication_on_protected_routes(
        self, api: httpx.AsyncClient
    ) -> None:
        schema = (await api.get("/api/openapi.json")).json()

        schemes = schema["components"]["securitySchemes"]
        assert [s["scheme"] for s in schemes.values()] == ["bearer"]
        assert schema["paths"]["/api/audit"]["get"].get("security")
        assert not schema["paths"]["/api/health"]["get"].get("security")

    async def test_interactive_docs_are_served(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/api/docs")

        assert response.status_code == 200
        assert "text/html" in response.headers["content-type"]
        assert "swagger" in response.text.lower()
        assert "/api/openapi.json" in response.text

    async def test_the_root_redirects_to_the_dashboard(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/")

        assert response.status_code in (302, 307)
        assert response.headers["location"] == "/ui/"
