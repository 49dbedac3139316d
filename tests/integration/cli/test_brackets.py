"""Text with square brackets reaches the terminal as written, in every command family.

Titles, task descriptions, step output, forge payloads and model messages are written
by people, models and forges; Rich would read ``[urgent]`` as markup and drop it, and
raise on ``[/]``. Each test stores such a value and reads it back through a command's
human (non ``--json``) output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrate.core.settings import Settings
from orchestrate.testing.scripted import finish, tool_call
from tests.integration.agents.conftest import repo
from tests.integration.agents.test_cli import drive
from tests.integration.cli.support import Cli, make_cli
from tests.integration.pipelines.conftest import pipeline_yaml, shell

__all__ = ["repo"]

URGENT = "Fix [urgent] crash"
BUG = "[BUG] login fails [/] on [bold]Safari[/bold]"
HOSTILE = "[link=file:///etc/passwd]click[/link] [/]"


@pytest.fixture(autouse=True)
def _provider_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    # start_agent checks the named provider's credentials; no model is called here.
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def ok(cli: Cli, *args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


class TestStoriesAndEpics:
    def test_story_titles_keep_their_brackets_in_list_and_show(self, cli: Cli) -> None:
        story_id = ok(cli, "story", "create", "--title", URGENT, "--criterion", HOSTILE).strip()

        listed = ok(cli, "story", "list")
        shown = ok(cli, "story", "show", story_id)

        assert URGENT in listed
        assert URGENT in shown
        assert HOSTILE in shown

    def test_updating_a_story_says_its_title_as_written(self, cli: Cli) -> None:
        story_id = ok(cli, "story", "create", "--title", "plain").strip()

        result = cli("story", "update", story_id, "--title", BUG)

        assert result.exit_code == 0, result.stderr
        assert BUG in result.stderr

    def test_epic_titles_keep_their_brackets_in_list_and_show(self, cli: Cli) -> None:
        epic_id = ok(cli, "epic", "create", "--title", BUG).strip()
        ok(cli, "story", "create", "--title", URGENT, "--epic", epic_id)

        listed = ok(cli, "epic", "list")
        shown = ok(cli, "epic", "show", epic_id)

        assert BUG in listed
        assert BUG in shown
        assert URGENT in shown


class TestPipelines:
    def create_and_run(self, cli: Cli) -> str:
        step = shell(
            "say",
            'echo "[red]logged[/red] [/]"\necho "note=[BUG] $NOTE" >> "$ORCHESTRATE_OUTPUT"',
            env={"NOTE": "${{ inputs.note }}"},
        )
        yaml = pipeline_yaml("brackets", [step], description=URGENT, inputs={"note": {}})
        path = cli.workdir / "brackets.yml"
        path.write_text(yaml)
        ok(cli, "pipeline", "create", str(path))
        return ok(cli, "pipeline", "trigger", "brackets", "--input", "note=[x]", "--wait").strip()

    def test_descriptions_inputs_outputs_and_logs_keep_their_brackets(self, cli: Cli) -> None:
        run_id = self.create_and_run(cli)

        assert URGENT in ok(cli, "pipeline", "list")
        assert URGENT in ok(cli, "pipeline", "show", "brackets")
        shown = ok(cli, "pipeline", "run-show", run_id)
        assert "note=[x]" in shown
        assert "note=[BUG] [x]" in shown
        assert "[red]logged[/red] [/]" in ok(cli, "pipeline", "logs", run_id)
        assert run_id in ok(cli, "pipeline", "runs")

    def test_hostile_markup_in_a_description_is_shown_and_never_raises(self, cli: Cli) -> None:
        path = cli.workdir / "hostile.yml"
        path.write_text(pipeline_yaml("hostile", description=HOSTILE))
        ok(cli, "pipeline", "create", str(path))

        assert HOSTILE in ok(cli, "pipeline", "list")
        assert HOSTILE in ok(cli, "pipeline", "show", "hostile")


class TestAgents:
    def test_tasks_summaries_and_transcripts_keep_their_brackets(
        self, cli: Cli, settings: Settings, repo: Path
    ) -> None:
        script = [tool_call("grep", {"pattern": "[a-z]+"}), finish("completed", BUG)]
        run = drive(settings, repo, script, agent_type="explorer", story_title=URGENT)

        listed = ok(cli, "agent", "list")
        shown = ok(cli, "agent", "show", run.id)
        transcript = ok(cli, "agent", "logs", run.id)

        assert run.id in listed
        assert BUG in shown
        assert '"pattern": "[a-z]+"' in transcript
        assert json.dumps(BUG) in transcript

    def test_the_task_keeps_its_brackets_in_the_agent_list(self, cli: Cli, repo: Path) -> None:
        task = "[urgent] crash"
        ok(cli, "agent", "start", "explorer", "--task", task, "--repo", str(repo),
           "--provider", "openai", "--model", "gpt-4o-mini")  # fmt: skip

        assert task in ok(cli, "agent", "list")


class TestWebhooks:
    def test_a_forge_payloads_values_keep_their_brackets_in_list_and_show(self, cli: Cli) -> None:
        payload = {
            "zen": "[/] Keep it logically awesome.",
            "hook_id": 1,
            "repository": {"full_name": "acme/[bold]widgets[/bold]", "private": False},
        }
        path = cli.workdir / "ping.json"
        path.write_text(json.dumps(payload))

        result = cli("webhook", "replay", str(path), "--event", "ping")

        listed = ok(cli, "webhook", "list")
        assert result.exit_code in (0, 1), result.stderr
        assert "acme/[bold]widgets[/bold]" in result.stdout
        assert "acme/[bold]widgets[/bold]" in listed


class TestSchedules:
    def test_an_agent_task_keeps_its_brackets_in_show(self, cli: Cli) -> None:
        ok(cli, "schedule", "create", "triage", "--cron", "0 9 * * *", "--agent", "explorer",
           "--task", BUG)  # fmt: skip

        assert BUG in ok(cli, "schedule", "show", "triage")
        assert "triage" in ok(cli, "schedule", "list")


class TestAuthAndSecrets:
    def test_a_refused_token_name_is_quoted_with_its_brackets(self, cli: Cli) -> None:
        # Token names are validated (so the token list and audit log hold no brackets);
        # the refusal must still show what was typed.
        result = cli("token", "create", "--name", "ci [bot]", "--role", "viewer")

        assert result.exit_code == 2
        assert "'ci [bot]'" in result.stderr
        assert "token.create" not in ok(cli, "audit", "list")

    def test_an_error_message_keeps_the_brackets_of_what_was_typed(self, cli: Cli) -> None:
        result = cli("secret", "set", HOSTILE, env={})

        assert result.exit_code == 2
        assert HOSTILE in result.stderr
        assert "Traceback" not in result.stderr
