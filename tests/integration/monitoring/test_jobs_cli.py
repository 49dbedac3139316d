"""``orchestrate job list|show|retry|cancel`` against a real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from orchestrate.core.db import create_database
from orchestrate.core.jobs import DEFAULT_MAX_ATTEMPTS
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.integration.cli.support import Cli
from tests.integration.monitoring.jobs import dead_job, queued_job

Seeder = Callable[[Callable[[Runtime], Awaitable[str]]], str]


@pytest.fixture
def seed(settings: Settings) -> Seeder:
    """Run one async set-up step against the test database from a synchronous CLI test."""

    def run(step: Callable[[Runtime], Awaitable[str]]) -> str:
        async def main() -> str:
            runtime = Runtime(
                settings=settings, database=create_database(settings.database_url_value)
            )
            try:
                return await step(runtime)
            finally:
                await runtime.close()

        return asyncio.run(main())

    return run


def show(cli: Cli, job_id: str) -> dict[str, object]:
    result = cli("job", "show", job_id, "--json")
    assert result.exit_code == 0, result.stderr
    shown: dict[str, object] = json.loads(result.stdout)
    return shown


class TestListAndShow:
    def test_jobs_are_listed_newest_first_as_json(self, cli: Cli, seed: Seeder) -> None:
        first = seed(queued_job)
        second = seed(dead_job)

        result = cli("job", "list", "--json")

        assert result.exit_code == 0
        assert [j["id"] for j in json.loads(result.stdout)] == [second, first]

    def test_jobs_can_be_filtered_by_status(self, cli: Cli, seed: Seeder) -> None:
        seed(queued_job)
        dead = seed(dead_job)

        result = cli("job", "list", "--status", "dead", "--json")

        assert [j["id"] for j in json.loads(result.stdout)] == [dead]

    def test_the_table_shows_kind_status_and_attempts(self, cli: Cli, seed: Seeder) -> None:
        seed(dead_job)

        result = cli("job", "list")

        assert result.exit_code == 0
        assert "test.broken" in result.stdout
        assert "dead" in result.stdout
        assert f"1/{DEFAULT_MAX_ATTEMPTS}" in result.stdout

    def test_an_unknown_status_is_a_usage_error(self, cli: Cli) -> None:
        assert cli("job", "list", "--status", "exploded").exit_code == 2

    def test_one_job_is_shown_with_its_last_error(self, cli: Cli, seed: Seeder) -> None:
        job_id = seed(dead_job)

        job = show(cli, job_id)

        assert (job["status"], job["kind"]) == ("dead", "test.broken")
        assert "the payload points at nothing" in str(job["last_error"])

    def test_the_detail_view_names_the_job(self, cli: Cli, seed: Seeder) -> None:
        job_id = seed(queued_job)

        result = cli("job", "show", job_id)

        assert result.exit_code == 0
        assert job_id in result.stdout
        assert "queued" in result.stdout

    def test_showing_an_unknown_job_fails_with_a_message(self, cli: Cli) -> None:
        result = cli("job", "show", "job_nope")

        assert result.exit_code == 1
        assert "No job 'job_nope'" in result.stderr
        assert result.stdout == ""


class TestRetryAndCancel:
    def test_a_dead_job_is_queued_again_and_audited(self, cli: Cli, seed: Seeder) -> None:
        job_id = seed(dead_job)

        result = cli("job", "retry", job_id)

        assert result.exit_code == 0
        assert f"Job {job_id} is queued again" in result.stderr
        assert (show(cli, job_id)["status"], show(cli, job_id)["attempts"]) == ("queued", 0)
        audit = json.loads(cli("audit", "list", "--json", "--subject", job_id).stdout)
        assert [r["action"] for r in audit] == ["job.retry"]
        assert audit[0]["actor"].startswith("cli:")

    def test_retrying_a_queued_job_fails_with_the_reason(self, cli: Cli, seed: Seeder) -> None:
        job_id = seed(queued_job)

        result = cli("job", "retry", job_id)

        assert result.exit_code == 1
        assert "only dead or cancelled jobs can be retried" in result.stderr

    def test_a_queued_job_is_cancelled_and_audited(self, cli: Cli, seed: Seeder) -> None:
        job_id = seed(queued_job)

        result = cli("job", "cancel", job_id)

        assert result.exit_code == 0
        assert f"Job {job_id} is cancelled" in result.stderr
        assert show(cli, job_id)["status"] == "cancelled"
        audit = json.loads(cli("audit", "list", "--json", "--action", "job.cancel").stdout)
        assert [r["subject"] for r in audit] == [job_id]

    def test_cancelling_a_dead_job_fails_with_the_reason(self, cli: Cli, seed: Seeder) -> None:
        job_id = seed(dead_job)

        result = cli("job", "cancel", job_id)

        assert result.exit_code == 1
        assert "only queued jobs can be cancelled" in result.stderr
        assert show(cli, job_id)["status"] == "dead"

    def test_cancelling_an_unknown_job_fails_with_a_message(self, cli: Cli) -> None:
        result = cli("job", "cancel", "job_nope")

        assert result.exit_code == 1
        assert "No job 'job_nope'" in result.stderr
