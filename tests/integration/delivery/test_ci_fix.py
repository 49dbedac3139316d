"""``ci analyze`` and ``ci fix`` on a run of the fake GitHub Actions, on both databases.

The repository is registered (a real git clone whose remote the fake GitHub serves), so
the run's commit is the clone's and its tree SHA is read with git; the failed job's log
is real pytest output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from orchestrate.agents import service as agents
from orchestrate.app.cli import app
from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.ci import service as ci
from orchestrate.ci.history import record_report
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.delivery.ci_fix import fix_ci_run
from orchestrate.secrets import service as secrets
from orchestrate.testing import FakeGitHub
from tests.integration.agents.conftest import git
from tests.integration.cli.support import Cli, make_cli
from tests.integration.delivery.conftest import GITHUB_REPO, Project, register
from tests.integration.delivery.test_shepherd import PYTEST_LOG
from tests.support import bearer

ADMIN = Actor.system("test")
JOBS = (
    ("lint", "success", "lint ok\n"),
    ("tests", "failure", PYTEST_LOG),
    ("deploy", "failure", "Deploying…\nwrite /srv/app: No space left on device\n"),
)


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


@pytest.fixture(autouse=True)
def _model_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")


@pytest.fixture
def actions(project: Project) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repository(GITHUB_REPO, git_dir=project.remote)
        fake.add_workflow(GITHUB_REPO, "ci.yml", name="CI", jobs=JOBS)
        yield fake


@pytest.fixture
def settings(
    db_url: str, tmp_path_factory: pytest.TempPathFactory, actions: FakeGitHub
) -> Settings:
    return Settings(
        home=tmp_path_factory.mktemp("home"),
        database_url=db_url,
        ci_github_api_url=actions.api_url,
        ci_repository=GITHUB_REPO,
    )


@pytest.fixture
async def registered(runtime: Runtime, project: Project, actions: FakeGitHub) -> str:
    """The repository registered and the token stored; the failed run's id."""
    await register(runtime, project, GITHUB_REPO, "github")
    await ci_token(runtime, actions)
    run_id = actions.add_workflow_run(GITHUB_REPO, "ci.yml", branch="main", status="completed")
    return str(run_id)


async def ci_token(runtime: Runtime, actions: FakeGitHub) -> None:
    await secrets.set_secret(runtime.uow(), runtime.settings, "GITHUB_TOKEN", actions.token, ADMIN)


def _target(runtime: Runtime) -> ci.CiTarget:
    return ci.resolve_target(runtime.settings, "github", GITHUB_REPO)


async def test_the_run_is_analysed_at_its_commits_tree(
    runtime: Runtime, project: Project, registered: str
) -> None:
    found = await ci.analyze_run(runtime.uow, runtime.settings, _target(runtime), registered)

    tree = git(project.remote, "rev-parse", "main^{tree}").strip()
    assert (found.tree_sha, found.tree_sha_source) == (tree, "git")
    assert [job.name for job in found.failed_jobs] == ["tests", "deploy"]
    assert found.unparsed_jobs == ("deploy",)
    [group] = found.analysis.groups
    assert group.tests == ("tests.test_calc::test_add",)
    assert group.is_actionable
    assert found.analysis.infrastructure == ()
    assert [(job, signal.kind) for job, signal in found.job_signals] == [
        ("deploy", "no space left on device")
    ]


async def test_a_test_that_passed_on_the_same_tree_is_called_flaky_and_not_handed_over(
    runtime: Runtime, project: Project, registered: str
) -> None:
    tree = git(project.remote, "rev-parse", "main^{tree}").strip()
    passing = ci.parse_report(PYTEST_LOG.replace("FAILED", "PASSED")).results
    await record_report(
        runtime.uow(), runtime.settings, ADMIN,
        repository=GITHUB_REPO, tree_sha=tree, attempt=1, results=passing,
    )  # fmt: skip

    found = await ci.analyze_run(runtime.uow, runtime.settings, _target(runtime), registered)
    with pytest.raises(ValidationFailed) as refused:
        await fix_ci_run(runtime, _target(runtime), registered, ADMIN)

    [group] = found.analysis.groups
    assert group.cause.value == "flaky"
    assert "re-run" in str(refused.value).lower()
    assert f"orchestrate ci rerun {registered} --failed-only" in str(refused.value)


async def test_fix_starts_one_issue_fixer_with_the_brief_at_the_runs_commit(
    runtime: Runtime, project: Project, registered: str
) -> None:
    first = await fix_ci_run(runtime, _target(runtime), registered, ADMIN)
    again = await fix_ci_run(runtime, _target(runtime), registered, ADMIN)

    agent = await agents.get_agent(runtime.uow(read_only=True), first.agent.id)
    assert again.agent.id == first.agent.id  # once per run attempt
    assert agent.type == "issue-fixer"
    assert "# CI failures of octo/app" in agent.task
    assert "`tests.test_calc::test_add`" in agent.task
    assert "AssertionError: assert 4 == 5" in agent.task
    assert agent.repo_path == str(project.work_tree)


def test_the_cli_analyzes_and_hands_over(
    cli: Cli, registered: str, actions: FakeGitHub, settings: Settings
) -> None:
    env = {
        **cli.env,
        "ORCHESTRATE_HOME": str(settings.home),
        "ORCHESTRATE_DATABASE_URL": settings.database_url_value,
        "ORCHESTRATE_CI_GITHUB_API_URL": actions.api_url,
        "ORCHESTRATE_CI_REPOSITORY": GITHUB_REPO,
    }
    analysed = CliRunner().invoke(app, ["ci", "analyze", registered, "--json"], env=env)
    brief = CliRunner().invoke(app, ["ci", "analyze", registered], env=env)
    fixed = CliRunner().invoke(app, ["ci", "fix", registered, "--json"], env=env)
    missing = CliRunner().invoke(app, ["ci", "fix", "999999"], env=env)

    assert analysed.exit_code == 0, analysed.output
    document = json.loads(analysed.stdout)
    assert document["tree_sha_source"] == "git"
    assert document["unparsed_jobs"] == ["deploy"]
    assert brief.exit_code == 0, brief.output
    assert "# CI failures of octo/app" in brief.stdout
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.stdout)["agent_id"].startswith("agent_")
    assert missing.exit_code != 0
    assert "Traceback" not in missing.output


async def test_the_api_gives_a_viewer_the_runs_analysis(
    api: httpx.AsyncClient, tokens: dict[Role, str], registered: str
) -> None:
    response = await api.get(
        f"/api/ci/runs/{registered}/analysis", headers=bearer(tokens[Role.VIEWER])
    )
    unknown = await api.get("/api/ci/runs/999999/analysis", headers=bearer(tokens[Role.VIEWER]))

    assert response.status_code == 200, response.text
    found = response.json()
    assert found["run"]["id"] == registered
    assert found["failed_jobs"] == ["tests", "deploy"]
    assert found["job_signals"][0]["job"] == "deploy"
    assert found["tree_sha_source"] == "git"
    [group] = found["analysis"]["groups"]
    assert group["tests"] == ["tests.test_calc::test_add"]
    assert found["analysis"]["brief"].startswith("# CI failures of octo/app")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
