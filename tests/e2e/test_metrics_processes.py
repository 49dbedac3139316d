"""``serve`` and two ``orchestrate worker`` processes: what each exposes to Prometheus.

The workers run every job and the metrics consumer; ``serve`` (``--no-worker``) runs
none, yet its ``/metrics`` shows the business totals from the database, and the
job runner's counters summed over the workers' ``--metrics-port`` match the jobs table.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import func, select

from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobStatus
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service as pipelines
from tests.e2e.processes import Background, Server, clean_env, cli, free_port

pytestmark = pytest.mark.slow

RUNS = 6
PIPELINE = """\
name: tick
steps:
  - id: one
    run: 'true'
  - id: two
    needs: one
    run: 'true'
"""


def parse(text: str) -> list[Sample]:
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def total(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


def scrape(url: str) -> list[Sample]:
    response = httpx.get(url, timeout=5)
    assert response.status_code == 200
    return parse(response.text)


class Processes:
    """``serve --no-worker`` and two workers with their own metrics ports."""

    def __init__(self, settings: Settings) -> None:
        env = clean_env(
            settings.home,
            DATABASE_URL=settings.database_url_value,
            WORKER_POLL_MAX_SECONDS="0.2",
            LOG_LEVEL="warning",
        )
        self.server = Server(env, free_port(), args=["--no-worker"])
        self.worker_ports = [free_port(), free_port()]
        self.workers = [
            Background(env, "worker", "--metrics-port", str(port)) for port in self.worker_ports
        ]

    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}/metrics" for port in self.worker_ports]

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.server.stop()


@pytest.fixture
def processes(settings: Settings) -> Iterator[Processes]:
    started = Processes(settings)
    try:
        yield started
    finally:
        started.stop()


async def trigger_runs(runtime: Runtime, actor: Actor) -> None:
    await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(PIPELINE), actor)
    for _ in range(RUNS):
        request = pipelines.TriggerRequest("tick")
        await pipelines.trigger_pipeline(runtime.uow(), runtime.settings, request, actor)


async def succeeded_jobs(runtime: Runtime) -> Counter[str]:
    async with runtime.uow(read_only=True) as uow:
        rows = await uow.session.execute(
            select(JobRow.kind, func.count())
            .where(JobRow.status == JobStatus.SUCCEEDED.value, JobRow.kind.startswith("pipelines."))
            .group_by(JobRow.kind)
        )
        return Counter({kind: int(count) for kind, count in rows.all()})


async def wait_for_serve_totals(server_url: str) -> list[Sample]:
    deadline = time.monotonic() + 120
    while True:
        samples = await asyncio.to_thread(scrape, f"{server_url}/metrics")
        ended = total(samples, "orchestrate_pipeline_runs_total", pipeline="tick")
        if ended >= RUNS:
            return samples
        assert time.monotonic() < deadline, f"serve shows {ended} ended runs of {RUNS}"
        await asyncio.sleep(0.5)


async def test_serve_shows_the_database_totals_and_each_worker_its_own_jobs(
    runtime: Runtime, processes: Processes, admin: Actor
) -> None:
    await trigger_runs(runtime, admin)

    samples = await wait_for_serve_totals(processes.server.url)
    await asyncio.sleep(1)  # let the last jobs' completions land
    workers = [await asyncio.to_thread(scrape, url) for url in processes.worker_urls()]

    success = {"pipeline": "tick", "status": "success"}
    assert total(samples, "orchestrate_pipeline_runs_total", **success) == RUNS
    assert total(samples, "orchestrate_pipeline_steps_total", status="success") == 2 * RUNS
    assert total(samples, "orchestrate_pipeline_run_duration_seconds_count", **success) == RUNS
    assert total(samples, "orchestrate_jobs_processed_total") == 0  # serve ran no job
    expected = await succeeded_jobs(runtime)
    summed = Counter[str]()
    for worker in workers:
        for sample in worker:
            if (
                sample.name == "orchestrate_jobs_processed_total"
                and sample.labels["outcome"] == "succeeded"
                and sample.labels["kind"] in expected
            ):
                summed[sample.labels["kind"]] += int(sample.value)
    assert summed == expected
    assert expected["pipelines.step"] == 2 * RUNS


def test_a_worker_whose_metrics_port_is_taken_says_so_and_exits_2(
    settings: Settings,
) -> None:
    env = clean_env(settings.home, DATABASE_URL=settings.database_url_value)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = cli(env, "worker", "--metrics-port", str(port), timeout=60)

    assert result.returncode == 2
    assert f"metrics port {port} on 127.0.0.1 is already in use" in result.stderr
