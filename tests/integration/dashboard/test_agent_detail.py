"""``/ui/agents/{id}``: one run's facts, budget, pull requests and transcript, and the
controls that steer it (SQLite and PostgreSQL, real runs driven by scripted models)."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents import service as agents
from orchestrate.agents.models import AgentState, ToolCallStatus
from orchestrate.auth import service as auth
from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.events import EventFilter
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryDraft
from orchestrate.testing import FakeGitHub
from orchestrate.testing.scripted import tool_call
from orchestrate.timeline import service as timeline
from tests.integration.agents.conftest import git
from tests.integration.dashboard.agent_support import (
    READ_AND_FINISH,
    driven,
    forms_posting_to,
    landed,
    make_repo,
    state_of,
    waiting_for_approval,
    waiting_for_input,
)
from tests.integration.dashboard.conftest import SignIn
from tests.integration.delivery.conftest import (
    GITHUB_REPO,
    make_project,
    point_at,
    register,
    run_agent,
    run_jobs,
)

pytestmark = pytest.mark.asyncio

FOLD = r'<details class="fold"[^>]*>\s*<summary>(.*?)</summary>(.*?)</details>'


@pytest.fixture(autouse=True)
def _provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # start_agent checks credentials of the named provider; the model is scripted.
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project")


def text_of(page: str) -> str:
    """The page's words, tags dropped and entities decoded, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


class TestTheDetailPage:
    async def test_a_finished_run_shows_its_facts_budget_and_transcript_with_tool_calls(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"pricing": {"scripted-model": {"input": Decimal(3), "output": Decimal(15)}}}
        )
        run = await driven(runtime, READ_AND_FINISH, repo=repo)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get(f"/ui/agents/{run.id}")

        assert page.status_code == 200
        words = text_of(page.text)
        assert f"explorer agent {run.id}" in words
        assert "State completed" in words
        assert "Why does test_add fail?" in words
        assert "scripted-model (openai)" in words
        assert "Summary add() subtracts; it should add." in words
        assert "Turns 4 4 40 10%" in words  # this run, with sub-agents, explorer.md's limit
        assert "Dollars $0.0024 $0.0024 $1.00 0%" in words  # 400 x $3/M + 80 x $15/M
        assert "Tokens 480 480 no limit" in words
        assert "Let me look at calc.py first." in words
        assert "Tool call read_file" in words
        assert '"path": "calc.py"' in html.unescape(page.text)  # pretty-printed arguments
        assert "Result of read_file" in words
        assert "return a - b" in words  # the file as the tool read it
        assert "Tool call finish" in words

    async def test_a_long_tool_result_shows_a_preview_and_folds_the_rest(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        (repo / "long.txt").write_text("".join(f"line {n}\n" for n in range(200)))
        git(repo, "add", "long.txt")
        git(repo, "-c", "user.name=D", "-c", "user.email=d@e", "commit", "-qm", "long")
        run = await driven(
            runtime, [tool_call("read_file", {"path": "long.txt"}), *READ_AND_FINISH[3:]], repo=repo
        )
        browser = await sign_in(Role.VIEWER)

        page = (await browser.get(f"/ui/agents/{run.id}")).text

        fold = re.search(
            r'<details class="fold"[^>]*>\s*<summary>(.*?)</summary>(.*?)</details>', page, re.S
        )
        assert fold is not None
        summary, rest = fold.groups()
        assert "line 2" in summary
        assert "line 150" not in summary
        assert "line 150" in rest

    async def test_a_long_transcript_opens_on_its_newest_messages_and_pages_back(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        many = [tool_call("list_files", {"pattern": f"*{n}.py"}) for n in range(30)]
        run = await driven(runtime, [*many, *READ_AND_FINISH[3:]], repo=repo, max_turns=40)
        everything = await agents.transcript(runtime.uow(read_only=True), run.id)
        assert len(everything) > 50
        last, first_shown = everything[-1][0], everything[-50][0]
        browser = await sign_in(Role.VIEWER)

        newest = (await browser.get(f"/ui/agents/{run.id}")).text

        assert f'id="message-{last}"' in newest
        assert f'id="message-{first_shown}"' in newest
        assert f'id="message-{first_shown - 1}"' not in newest
        assert f"?before={first_shown}#transcript" in newest
        assert "Later messages" not in newest

        earlier = (await browser.get(f"/ui/agents/{run.id}?before={first_shown}")).text
        assert 'id="message-0"' in earlier
        assert f'id="message-{first_shown - 1}"' in earlier
        assert f'id="message-{first_shown}"' not in earlier
        assert f"?after={first_shown - 1}#transcript" in earlier
        assert "Latest messages" in earlier

        later = (await browser.get(f"/ui/agents/{run.id}?after={first_shown - 1}")).text
        assert f'id="message-{first_shown}"' in later

    async def test_the_story_parent_and_sub_agents_are_linked(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        story = await stories.create_story(
            runtime.uow(), StoryDraft(title="Addition adds"), Actor.local_cli()
        )
        parent = await waiting_for_approval(runtime, repo)
        parent = await agents.get_agent(runtime.uow(read_only=True), parent.id)
        child = await agents.create_sub_agent(
            runtime.uow(), runtime.settings, parent, "explorer", "Look around", None, "call_1"
        )
        on_story = await driven(runtime, READ_AND_FINISH, repo=repo, story=story.id)
        browser = await sign_in(Role.VIEWER)

        parent_page = (await browser.get(f"/ui/agents/{parent.id}")).text
        child_page = (await browser.get(f"/ui/agents/{child.id}")).text
        story_page = (await browser.get(f"/ui/agents/{on_story.id}")).text

        assert f'href="/ui/agents/{child.id}"' in parent_page
        assert child.id in re.search(r'data-live="([^"]*)"', parent_page).group(1)  # type: ignore[union-attr]
        assert f'href="/ui/agents/{parent.id}"' in child_page
        assert f'href="/ui/stories/{story.id}"' in story_page
        assert "Addition adds" in story_page

    async def test_an_unknown_agent_is_a_not_found_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        missing = await browser.get("/ui/agents/agent_nope")

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "No agent 'agent_nope'" in html.unescape(missing.text)

    @pytest.mark.parametrize("query", ["before=-5", "after=x", "before=99999999999999999999"])
    async def test_a_bad_transcript_position_is_a_422_page(
        self, sign_in: SignIn, runtime: Runtime, query: str
    ) -> None:
        run = await driven(runtime, READ_AND_FINISH)
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get(f"/ui/agents/{run.id}?{query}")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")

    async def test_a_viewer_sees_what_waits_for_approval_but_no_controls(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.VIEWER)

        page = (await browser.get(f"/ui/agents/{run.id}")).text

        assert "waiting for approval" in page
        assert "echo approved &gt; out.txt" in page
        assert f"/ui/agents/{run.id}/" not in page  # no form posts anywhere for this agent

    async def test_an_operator_gets_the_controls_valid_in_each_state(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        approval = await waiting_for_approval(runtime, repo)
        question = await waiting_for_input(runtime)
        finished = await driven(runtime, READ_AND_FINISH, repo=repo)
        browser = await sign_in(Role.OPERATOR)

        def controls(page: str, agent_id: str) -> set[str]:
            return {
                action
                for action in ("pause", "resume", "cancel", "approve", "deny", "answer")
                if forms_posting_to(page, f"/ui/agents/{agent_id}/{action}")
            }

        approval_page = (await browser.get(f"/ui/agents/{approval.id}")).text
        question_page = (await browser.get(f"/ui/agents/{question.id}")).text
        finished_page = (await browser.get(f"/ui/agents/{finished.id}")).text

        assert controls(approval_page, approval.id) == {"pause", "cancel", "approve", "deny"}
        assert controls(question_page, question.id) == {"cancel", "answer"}
        assert "Which database should the tests use?" in question_page
        assert controls(finished_page, finished.id) == set()

    async def test_a_running_agent_refreshes_on_its_events_each_message_included(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)
        await agents.approve(runtime.uow(), run.id, Actor.local_cli())

        running = (await browser.get(f"/ui/agents/{run.id}")).text

        assert 'hx-trigger="every' not in running  # no polling: every message is an event
        assert f'data-live="{run.id} pull_request.opened' in running
        recorded = await timeline.list_events(
            runtime.uow(read_only=True),
            after=0,
            only=EventFilter(types=("agent.message_recorded",), subject=run.id),
            limit=100,
        )
        transcript = await agents.transcript(runtime.uow(read_only=True), run.id)
        assert [event.payload["seq"] for event in recorded.items] == [s for s, _, _ in transcript]


class TestSteering:
    async def test_an_operator_approves_the_waiting_call_and_the_agent_runs_on(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(f"/ui/agents/{run.id}/approve")

        assert posted.headers["location"] == f"/ui/agents/{run.id}"
        page = await landed(browser, posted)
        assert f"Approved: agent {run.id} runs the tool call" in page.text
        assert await state_of(runtime, run.id) is AgentState.RUNNING
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=run.id)
        assert (audit.items[0].action, audit.items[0].actor) == (
            "agent.approve",
            "token:test-operator",
        )

    async def test_a_denial_carries_the_reason_to_the_agent_and_the_audit(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(
            f"/ui/agents/{run.id}/deny", {"reason": "Write files with write_file."}
        )

        page = await landed(browser, posted)
        assert "is told, with your reason" in page.text
        assert await state_of(runtime, run.id) is AgentState.RUNNING
        (call,) = (await agents.unfinished_tool_calls(runtime.uow(read_only=True), [run.id]))[
            run.id
        ]
        assert (call.status, call.output) == (ToolCallStatus.DENIED, "Write files with write_file.")
        audit = await auth.list_audit(runtime.uow(read_only=True), subject=run.id)
        assert audit.items[0].details["reason"] == "Write files with write_file."

    async def test_an_answer_lets_a_waiting_agent_carry_on(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_for_input(runtime)
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(f"/ui/agents/{run.id}/answer", {"message": "SQLite, please"})

        page = await landed(browser, posted)
        assert "Answer sent" in page.text
        assert await state_of(runtime, run.id) is AgentState.RUNNING

    async def test_pause_then_resume_and_cancel_go_through_the_state_machine(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)

        await browser.post(f"/ui/agents/{run.id}/pause")
        assert await state_of(runtime, run.id) is AgentState.PAUSED
        paused_page = (await browser.get(f"/ui/agents/{run.id}")).text
        assert forms_posting_to(paused_page, f"/ui/agents/{run.id}/resume") == 1

        await browser.post(f"/ui/agents/{run.id}/resume")
        assert await state_of(runtime, run.id) is AgentState.RUNNING

        posted = await browser.post(f"/ui/agents/{run.id}/cancel")
        assert "Cancel requested" in (await landed(browser, posted)).text
        assert (await agents.get_agent(runtime.uow(read_only=True), run.id)).control is not None

    async def test_a_form_from_the_inbox_comes_back_to_the_inbox(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)

        posted = await browser.post(f"/ui/agents/{run.id}/approve", {"next": "/ui/approvals?"})
        off_site = await browser.post(
            f"/ui/agents/{run.id}/pause", {"next": "https://evil.example/"}
        )

        assert posted.headers["location"] == "/ui/approvals?"
        assert off_site.headers["location"] == "/ui/"

    @pytest.mark.parametrize("action", ["pause", "resume", "cancel", "approve", "deny", "answer"])
    async def test_a_viewers_forged_post_is_refused(
        self, sign_in: SignIn, runtime: Runtime, repo: Path, action: str
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.VIEWER)

        refused = await browser.post(f"/ui/agents/{run.id}/{action}", {"message": "x"})

        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("text/html")
        assert await state_of(runtime, run.id) is AgentState.WAITING_FOR_APPROVAL

    @pytest.mark.parametrize("action", ["pause", "resume", "cancel", "approve", "deny", "answer"])
    async def test_a_post_without_the_csrf_token_is_refused(
        self, sign_in: SignIn, runtime: Runtime, repo: Path, action: str
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.http.post(f"/ui/agents/{run.id}/{action}", data={"message": "x"})

        assert refused.status_code == 403
        assert "security token" in refused.text
        assert await state_of(runtime, run.id) is AgentState.WAITING_FOR_APPROVAL

    @pytest.mark.parametrize("action", ["pause", "resume", "cancel", "approve", "deny", "answer"])
    async def test_steering_an_unknown_agent_is_a_not_found_page(
        self, sign_in: SignIn, action: str
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        missing = await browser.post(f"/ui/agents/agent_nope/{action}", {"message": "x"})

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")

    async def test_approving_an_agent_that_waits_for_nothing_is_a_conflict_page(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await driven(runtime, READ_AND_FINISH)
        browser = await sign_in(Role.OPERATOR)

        conflict = await browser.post(f"/ui/agents/{run.id}/approve")

        assert conflict.status_code == 409
        assert "nothing is waiting for approval" in conflict.text

    async def test_a_blank_answer_is_refused_and_the_agent_keeps_waiting(
        self, sign_in: SignIn, runtime: Runtime
    ) -> None:
        run = await waiting_for_input(runtime)
        browser = await sign_in(Role.OPERATOR)

        blank = await browser.post(f"/ui/agents/{run.id}/answer", {"message": "   "})
        missing = await browser.post(f"/ui/agents/{run.id}/answer")

        assert blank.status_code == 422
        assert missing.status_code == 422
        assert await state_of(runtime, run.id) is AgentState.WAITING_FOR_INPUT

    async def test_a_reason_over_two_thousand_characters_is_refused(
        self, sign_in: SignIn, runtime: Runtime, repo: Path
    ) -> None:
        run = await waiting_for_approval(runtime, repo)
        browser = await sign_in(Role.OPERATOR)

        refused = await browser.post(f"/ui/agents/{run.id}/deny", {"reason": "x" * 2001})

        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("text/html")
        assert await state_of(runtime, run.id) is AgentState.WAITING_FOR_APPROVAL


class TestPullRequests:
    async def test_the_pull_request_an_agent_opened_is_linked_to_its_dashboard_page(
        self, sign_in: SignIn, runtime: Runtime, tmp_path: Path
    ) -> None:
        project = make_project(tmp_path / "delivered", tmp_path / "remote.git")
        delivery.follow_agents()
        try:
            with FakeGitHub() as github:
                github.add_repository(GITHUB_REPO, git_dir=project.remote)
                point_at(runtime, github=github)
                await register(runtime, project, GITHUB_REPO, "github")
                run = await run_agent(runtime, project)
                await run_jobs(runtime)
        finally:
            agents.top_level_agent_ended.unsubscribe(delivery.enqueue_on_completion)
        (pull_request,) = (
            await delivery.list_pull_requests(runtime.uow(read_only=True), agent_id=run.id)
        ).items
        browser = await sign_in(Role.VIEWER)

        page = (await browser.get(f"/ui/agents/{run.id}")).text

        assert f'href="/ui/pull-requests/{GITHUB_REPO}/{pull_request.number}"' in page
        assert f"{GITHUB_REPO}#{pull_request.number}" in page
        assert f'href="{pull_request.url}"' in page
