"""``/ui/approvals``: pipeline steps waiting on the signed-in person and agents waiting
for approval or an answer, decided from the inbox (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from orchestrate.agents.models import AgentState
from orchestrate.auth import service as auth
from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.models import PipelineRun, StepStatus
from orchestrate.pipelines.service import PipelineSource, TriggerRequest
from tests.integration.dashboard.agent_support import (
    forms_posting_to,
    landed,
    make_repo,
    state_of,
    waiting_for_approval,
    waiting_for_input,
)
from tests.integration.dashboard.conftest import SignIn
from tests.integration.pipelines.conftest import approval, pipeline_yaml, work

pytestmark = pytest.mark.asyncio

OPERATOR = Actor.local_cli()


@pytest.fixture(autouse=True)
def _provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")


async def gated_run(
    runtime: Runtime, *approvers: str, name: str = "release", required: int = 1
) -> PipelineRun:
    """A run of a one-step pipeline whose approval step waits on ``approvers``."""
    text = pipeline_yaml(name, [approval("ship-it", *approvers, approval={"required": required})])
    await pipelines.register_pipeline(runtime.uow(), PipelineSource(text=text), OPERATOR)
    run = await pipelines.trigger_pipeline(
        runtime.uow(), runtime.settings, TriggerRequest(pipeline=name), OPERATOR
    )
    await work(runtime)
    return run


async def step_status(runtime: Runtime, run_id: str) -> StepStatus:
    run = await pipelines.get_run(runtime.uow(read_only=True), run_id)
    return next(step.status for step in run.steps if step.key == "ship-it")


class TestPipelineApprovals:
    async def test_a_step_waiting_on_the_operator_is_listed_with_its_decision_form(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await gated_run(runtime, "test-operator")
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get("/ui/approvals")

        assert page.status_code == 200
        assert "ship-it" in page.text
        assert f'href="/ui/runs/{run.id}"' in page.text
        assert "0 of 1 approval; approvers: test-operator" in html.unescape(page.text)
        assert forms_posting_to(page.text, f"/ui/approvals/{run.id}/ship-it/approve") == 1
        assert forms_posting_to(page.text, f"/ui/approvals/{run.id}/ship-it/reject") == 1
        assert 'aria-current="page"' in page.text.split("Approvals</a>")[0].rsplit("<li>", 1)[1]

    async def test_a_step_waiting_on_someone_else_is_not_in_my_inbox(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        await gated_run(runtime, "someone-else")
        browser = await sign_in(Role.OPERATOR)

        page = await browser.get("/ui/approvals")

        assert "ship-it" not in page.text
        assert "No pipeline step waits on you." in page.text

    async def test_approving_with_a_comment_succeeds_the_step_and_is_audited(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await gated_run(runtime, "test-operator")
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(
            f"/ui/approvals/{run.id}/ship-it/approve", {"comment": "Looks good", "next": ""}
        )

        assert posted.headers["location"] == "/ui/approvals"
        assert "Approved step ship-it of release" in (await landed(browser, posted)).text
        assert await step_status(runtime, run.id) is StepStatus.SUCCESS
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=run.id)
        decided = next(r for r in audit.items if r.action == "pipeline.step.approve")
        assert (decided.actor, decided.details["comment"]) == ("token:test-operator", "Looks good")

    async def test_rejecting_fails_the_step_with_the_comment_as_its_reason(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await gated_run(runtime, "test-operator")
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(f"/ui/approvals/{run.id}/ship-it/reject", {"comment": "No"})

        assert "Rejected step ship-it" in (await landed(browser, posted)).text
        assert await step_status(runtime, run.id) is StepStatus.FAILURE

    @pytest.mark.parametrize("decision", ["approve", "reject"])
    async def test_a_viewer_named_as_approver_sees_the_step_but_cannot_decide(
        self, sign_in: SignIn, runtime: Runtime, decision: str
    ) -> None:
        run = await gated_run(runtime, "test-viewer")
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/approvals")
        forged = await browser.post(f"/ui/approvals/{run.id}/ship-it/{decision}")

        assert "ship-it" in page.text
        assert "/ui/approvals/" not in page.text  # no decision form
        assert "deciding needs the operator or admin role" in page.text
        assert forged.status_code == 403
        assert await step_status(runtime, run.id) is StepStatus.WAITING

    @pytest.mark.parametrize("decision", ["approve", "reject"])
    async def test_a_decision_without_the_csrf_token_is_refused(
        self, sign_in: SignIn, runtime: Runtime, decision: str
    ) -> None:
        run = await gated_run(runtime, "test-operator")
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.http.post(f"/ui/approvals/{run.id}/ship-it/{decision}", data={})

        assert refused.status_code == 403
        assert await step_status(runtime, run.id) is StepStatus.WAITING

    async def test_an_operator_not_named_as_approver_is_refused(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await gated_run(runtime, "someone-else")
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/approvals/{run.id}/ship-it/approve")

        assert refused.status_code == 403
        assert "its approvers are: someone-else" in html.unescape(refused.text)

    async def test_deciding_twice_is_a_conflict_page(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await gated_run(runtime, "test-operator", "someone-else", required=2)
        browser = await sign_in(Role.OPERATOR)
        await browser.post(f"/ui/approvals/{run.id}/ship-it/approve")

        again = await browser.post(f"/ui/approvals/{run.id}/ship-it/approve")

        assert again.status_code == 409
        assert "has already decided" in html.unescape(again.text)
        assert await step_status(runtime, run.id) is StepStatus.WAITING

    @pytest.mark.parametrize("decision", ["approve", "reject"])
    @pytest.mark.parametrize("target", ["run_nope/ship-it", "{run}/no-such-step"])
    async def test_an_unknown_run_or_step_is_a_not_found_page(
        self, sign_in: SignIn, runtime: Runtime, target: str, decision: str
    ) -> None:
        run = await gated_run(runtime, "test-operator")
        browser = await sign_in(Role.OPERATOR)

        missing = await browser.post(f"/ui/approvals/{target.format(run=run.id)}/{decision}")

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")

    async def test_a_comment_over_ten_thousand_characters_is_refused(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await gated_run(runtime, "test-operator")
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(
            f"/ui/approvals/{run.id}/ship-it/approve", {"comment": "x" * 10_001}
        )

        assert refused.status_code == 422
        assert await step_status(runtime, run.id) is StepStatus.WAITING

    @pytest.mark.parametrize("name", ["cursor", "approval_cursor", "input_cursor"])
    async def test_a_bad_cursor_is_a_422_page(self, sign_in: SignIn, name: str) -> None:
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get(f"/ui/approvals?{name}=%25%25%25")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")

    async def test_the_steps_come_in_pages_of_fifty(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        for n in range(51):
            await gated_run(runtime, "test-operator", name=f"release-{n}")
        browser = await sign_in(Role.OPERATOR)

        first = (await browser.get("/ui/approvals")).text
        cursor = html.unescape(first).split("?cursor=")[1].split('"')[0]
        second = (await browser.get(f"/ui/approvals?cursor={cursor}")).text

        assert first.count("/ship-it/approve") == 50
        assert second.count("/ship-it/approve") == 1
        assert "« First page" in second


class TestWaitingAgents:
    async def test_agents_waiting_for_approval_or_an_answer_are_listed_with_their_forms(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        asking_approval = await waiting_for_approval(runtime, repo)
        asking_input = await waiting_for_input(runtime)
        browser = await sign_in(Role.OPERATOR)

        page = (await browser.get("/ui/approvals")).text

        assert f'href="/ui/agents/{asking_approval.id}"' in page
        assert "echo approved &gt; out.txt" in page  # the call it waits to run
        assert forms_posting_to(page, f"/ui/agents/{asking_approval.id}/approve") == 1
        assert forms_posting_to(page, f"/ui/agents/{asking_approval.id}/deny") == 1
        assert f'href="/ui/agents/{asking_input.id}"' in page
        assert "Which database should the tests use?" in page
        assert forms_posting_to(page, f"/ui/agents/{asking_input.id}/answer") == 1
        assert 'name="next" value="/ui/approvals"' in page

    async def test_a_viewer_sees_the_waiting_agents_without_forms(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        asking_approval = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.VIEWER)

        page = (await browser.get("/ui/approvals")).text

        assert f'href="/ui/agents/{asking_approval.id}"' in page
        assert f"/ui/agents/{asking_approval.id}/approve" not in page

    async def test_answering_from_the_inbox_runs_the_agent_on_and_comes_back(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        asking = await waiting_for_input(runtime)
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(
            f"/ui/agents/{asking.id}/answer", {"message": "PostgreSQL", "next": "/ui/approvals?"}
        )

        page = await landed(browser, posted)
        assert page.url.path == "/ui/approvals"
        assert "Answer sent" in page.text
        assert await state_of(runtime, asking.id) is AgentState.RUNNING
        assert f'href="/ui/agents/{asking.id}"' not in page.text

    async def test_waiting_agents_come_in_pages_of_fifty_with_their_own_cursor(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        for _ in range(51):
            await waiting_for_input(runtime)
        browser = await sign_in(Role.VIEWER)

        first = html.unescape((await browser.get("/ui/approvals")).text)
        cursor = first.split("?input_cursor=")[1].split('"')[0]
        second = (await browser.get(f"/ui/approvals?input_cursor={cursor}")).text

        assert first.count("Which database should the tests use?") == 50
        assert second.count("Which database should the tests use?") == 1
        assert "?cursor=" not in first  # the other lists have one page only

    async def test_the_lists_refresh_on_the_events_that_change_them(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        page = (await browser.get("/ui/approvals")).text

        assert 'id="inbox-pipelines" data-live="pipeline.step.waiting' in page
        states = 'data-live="agent.created agent.running agent.waiting_ agent.paused'
        assert f'id="inbox-agent-approvals" {states}' in page
        assert f'id="inbox-agent-questions" {states}' in page
        assert "agent.message_recorded" not in page  # an agent's messages are its page's
