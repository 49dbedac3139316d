"""The ready-made integrations in deploy/: they chart only series the code exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from orchestrate.monitoring.metrics import exported_names

DEPLOY = Path(__file__).parents[3] / "deploy"
DASHBOARD = DEPLOY / "grafana" / "orchestrate-dashboard.json"


def panels(container: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in container.get("panels", []):
        yield panel
        yield from panels(panel)


def expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        str(target["expr"])
        for panel in panels(dashboard)
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\borchestrate_[a-z0-9_]+\b", expression))


def test_every_dashboard_query_names_only_exported_metrics() -> None:
    exported = exported_names()
    queries = expressions()

    assert queries
    named = set().union(*(metric_names(query) for query in queries))
    assert all(metric_names(query) for query in queries)
    assert named <= exported, named - exported


def test_the_dashboard_charts_every_business_and_operations_series() -> None:
    named = set().union(*(metric_names(query) for query in expressions()))

    for series in (
        "orchestrate_pipeline_runs_total",
        "orchestrate_pipeline_step_duration_seconds_bucket",
        "orchestrate_agent_runs_total",
        "orchestrate_agent_turns_bucket",
        "orchestrate_webhook_deliveries_total",
        "orchestrate_schedule_fire_lateness_seconds_bucket",
        "orchestrate_job_queue_depth",
        "orchestrate_job_queue_oldest_age_seconds",
        "orchestrate_jobs_processed_total",
        "orchestrate_http_requests_total",
        "orchestrate_http_request_duration_seconds_bucket",
    ):
        assert series in named, series


def test_the_dashboard_is_importable_grafana_json_with_unique_panel_ids() -> None:
    dashboard = json.loads(DASHBOARD.read_text())

    ids = [panel["id"] for panel in panels(dashboard)]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] == "orchestrate-overview"
    assert dashboard["schemaVersion"] >= 36
    assert all(
        panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for panel in panels(dashboard)
        if panel["type"] != "row"
    )


def test_the_example_prometheus_config_scrapes_serve_and_the_workers() -> None:
    config = YAML(typ="safe").load((DEPLOY / "prometheus.yml").read_text())

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"orchestrate-serve", "orchestrate-worker"}
    assert all(job["metrics_path"] == "/metrics" for job in jobs.values())
    assert all(job["static_configs"][0]["targets"] for job in jobs.values())
