"""``orchestrate story …`` and ``orchestrate epic …`` against a real database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrate.app.cli import app
from orchestrate.core.settings import Settings
from tests.integration.stories.support import FIXTURES, copy_project, edit

STORY_FIELDS = [
    "id",
    "key",
    "epic_id",
    "title",
    "description",
    "acceptance_criteria",
    "status",
    "priority",
    "labels",
    "assignee",
    "branch",
    "pr_url",
    "depends_on",
    "blocked_reason",
    "created_at",
    "updated_at",
]


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    error: str

    def json(self) -> Any:
        return json.loads(self.stdout)


class Cli:
    """Runs commands in-process, as the console script would (same errors, same exit codes)."""

    def __init__(self, settings: Settings, tmp_path: Path) -> None:
        self.env = {
            "ORCHESTRATE_DATABASE_URL": settings.database_url_value,
            "ORCHESTRATE_HOME": str(tmp_path / "cli-home"),
        }

    def __call__(self, *args: str) -> Outcome:
        result = CliRunner().invoke(app, list(args), env=self.env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Outcome(result.exit_code, result.stdout, result.stderr.strip())

    def ok(self, *args: str) -> Outcome:
        outcome = self(*args)
        assert outcome.exit_code == 0, outcome.error
        return outcome


@pytest.fixture
def cli(settings: Settings, tmp_path: Path) -> Cli:
    return Cli(settings, tmp_path)


class TestStoryCommands:
    def test_create_prints_only_the_new_id(self, cli: Cli) -> None:
        out = cli.ok("story", "create", "--title", "Sign up", "--criterion", "Form works")
        story_id = out.stdout.strip()
        assert story_id.startswith("story_")
        assert "\n" not in story_id

    def test_show_json_has_exactly_the_api_fields(self, cli: Cli) -> None:
        story_id = cli.ok(
            "story",
            "create",
            "--title",
            "Sign up",
            "--label",
            "Backend",
            "--priority",
            "high",
            "--criterion",
            "Form works",
            "--assignee",
            "ada",
        ).stdout.strip()
        story = cli.ok("story", "show", story_id, "--json").json()
        assert list(story) == STORY_FIELDS
        assert story["acceptance_criteria"] == [{"text": "Form works", "done": False}]
        assert (story["labels"], story["priority"], story["assignee"]) == (
            ["backend"],
            "high",
            "ada",
        )

    def test_list_json_is_an_array_filtered_and_newest_first(self, cli: Cli) -> None:
        first = cli.ok("story", "create", "--title", "A", "--label", "web").stdout.strip()
        second = cli.ok("story", "create", "--title", "B", "--label", "web").stdout.strip()
        cli.ok("story", "create", "--title", "C", "--assignee", "ada")
        listed = cli.ok("story", "list", "--label", "web", "--json").json()
        assert [s["id"] for s in listed] == [second, first]
        assert [
            s["title"] for s in cli.ok("story", "list", "--assignee", "ada", "--json").json()
        ] == ["C"]
        assert len(cli.ok("story", "list", "--limit", "1", "--json").json()) == 1
        assert cli.ok("story", "list", "--status", "done", "--json").json() == []

    def test_update_changes_fields_and_labels_and_keeps_the_rest(self, cli: Cli) -> None:
        story_id = cli.ok(
            "story", "create", "--title", "Sign up", "--label", "api", "--criterion", "Works"
        ).stdout.strip()
        cli.ok(
            "story",
            "update",
            story_id,
            "--status",
            "ready",
            "--add-label",
            "Web",
            "--remove-label",
            "api",
            "--branch",
            "story/sign-up",
            "--pr-url",
            "https://github.com/acme/app/pull/3",
        )
        story = cli.ok("story", "show", story_id, "--json").json()
        assert (story["status"], story["labels"], story["branch"]) == (
            "ready",
            ["web"],
            "story/sign-up",
        )
        assert story["pr_url"] == "https://github.com/acme/app/pull/3"
        assert story["acceptance_criteria"] == [{"text": "Works", "done": False}]

    def test_criteria_given_to_update_replace_the_old_ones(self, cli: Cli) -> None:
        story_id = cli.ok("story", "create", "--title", "S", "--criterion", "Old").stdout.strip()
        cli.ok("story", "update", story_id, "--criterion", "New 1", "--criterion", "New 2")
        story = cli.ok("story", "show", story_id, "--json").json()
        assert [c["text"] for c in story["acceptance_criteria"]] == ["New 1", "New 2"]

    def test_an_invalid_transition_exits_1_and_changes_nothing(self, cli: Cli) -> None:
        story_id = cli.ok("story", "create", "--title", "Sign up").stdout.strip()
        outcome = cli("story", "update", story_id, "--status", "done", "--title", "Renamed")
        assert outcome.exit_code == 1
        assert "from 'backlog' it can move to: ready, blocked, cancelled" in outcome.error
        story = cli.ok("story", "show", story_id, "--json").json()
        assert (story["status"], story["title"]) == ("backlog", "Sign up")

    @pytest.mark.parametrize(
        "command",
        [
            ("story", "show", "story_missing"),
            ("story", "update", "9.9", "--title", "x"),
            ("story", "delete", "story_missing"),
            ("epic", "show", "42"),
            ("epic", "update", "42", "--title", "x"),
        ],
    )
    def test_unknown_ids_exit_1(self, cli: Cli, command: tuple[str, ...]) -> None:
        outcome = cli(*command)
        assert outcome.exit_code == 1
        assert "No " in outcome.error

    @pytest.mark.parametrize(
        "options",
        [
            ("--pr-url", "github.com/acme/app/pull/1"),
            ("--epic", "epic_missing"),
            ("--title", "   "),
            ("--add-label", " "),
        ],
    )
    def test_bad_input_exits_2_without_losing_stored_data(
        self, cli: Cli, options: tuple[str, ...]
    ) -> None:
        story_id = cli.ok("story", "create", "--title", "Sign up", "--label", "api").stdout.strip()
        before = cli.ok("story", "show", story_id, "--json").json()
        outcome = cli("story", "update", story_id, "--status", "ready", *options)
        assert outcome.exit_code == 2, outcome.error
        assert cli.ok("story", "show", story_id, "--json").json() == before

    def test_update_without_options_is_bad_usage(self, cli: Cli) -> None:
        story_id = cli.ok("story", "create", "--title", "Sign up").stdout.strip()
        outcome = cli("story", "update", story_id)
        assert (outcome.exit_code, outcome.error) == (
            2,
            "Error: Nothing to update: pass at least one option (see --help)",
        )

    def test_an_unknown_status_value_is_bad_usage(self, cli: Cli) -> None:
        assert cli("story", "list", "--status", "finished").exit_code == 2

    def test_create_without_a_title_is_bad_usage(self, cli: Cli) -> None:
        assert cli("story", "create", "--description", "x").exit_code == 2
        assert cli.ok("story", "list", "--json").json() == []

    def test_delete_removes_the_story(self, cli: Cli) -> None:
        story_id = cli.ok("story", "create", "--title", "Sign up").stdout.strip()
        cli.ok("story", "delete", story_id)
        assert cli("story", "show", story_id).exit_code == 1

    def test_mutations_are_audited_as_the_local_user(self, cli: Cli) -> None:
        story_id = cli.ok("story", "create", "--title", "Sign up").stdout.strip()
        cli.ok("story", "update", story_id, "--title", "Sign up fast")
        cli.ok("story", "delete", story_id)
        records = cli.ok("audit", "list", "--subject", story_id, "--json").json()
        assert [r["action"] for r in reversed(records)] == [
            "story.create",
            "story.update",
            "story.delete",
        ]
        assert all(r["actor"].startswith("cli:") for r in records)


class TestFromFile:
    def test_a_story_file_fills_every_field(self, cli: Cli) -> None:
        cli.ok("story", "import", str(FIXTURES / "project"))
        story_id = cli.ok(
            "story", "create", "--from-file", str(FIXTURES / "story.md")
        ).stdout.strip()
        story = cli.ok("story", "show", story_id, "--json").json()
        epic = cli.ok("epic", "show", "1", "--json").json()
        assert story["title"] == "Lock accounts after repeated failed sign-ins"
        assert story["description"].startswith("After five failed sign-ins")
        assert len(story["acceptance_criteria"]) == 3
        assert (story["epic_id"], story["priority"], story["labels"], story["assignee"]) == (
            epic["id"],
            "high",
            ["backend", "security"],
            "ada",
        )

    def test_command_line_options_override_the_file(self, cli: Cli) -> None:
        cli.ok("story", "import", str(FIXTURES / "project"))
        story_id = cli.ok(
            "story",
            "create",
            "--from-file",
            str(FIXTURES / "story.md"),
            "--title",
            "Lockout",
            "--priority",
            "low",
            "--label",
            "auth",
            "--epic",
            "2",
            "--criterion",
            "Only this one",
        ).stdout.strip()
        story = cli.ok("story", "show", story_id, "--json").json()
        epic = cli.ok("epic", "show", "2", "--json").json()
        assert (story["title"], story["priority"], story["labels"], story["epic_id"]) == (
            "Lockout",
            "low",
            ["auth"],
            epic["id"],
        )
        assert story["acceptance_criteria"] == [{"text": "Only this one", "done": False}]
        assert story["assignee"] == "ada"

    def test_a_malformed_story_file_exits_2_naming_the_line(self, cli: Cli, tmp_path: Path) -> None:
        path = tmp_path / "story.md"
        path.write_text("---\npriority: urgent\n---\n# Title\n")
        outcome = cli("story", "create", "--from-file", str(path))
        assert outcome.exit_code == 2
        assert outcome.error.startswith(f"Error: {path}:2: unknown priority 'urgent'")


class TestImport:
    def test_import_prints_a_summary_and_reimport_updates(self, cli: Cli, tmp_path: Path) -> None:
        folder = copy_project(tmp_path)
        first = cli.ok("story", "import", str(folder), "--json").json()
        assert (first["epics_created"], first["stories_created"]) == (3, 5)
        edit(folder / "epic-2.md", "- [ ] Choosing a label", "- [x] Choosing a label")
        edit(folder / "epic-2.md", "- [ ] The chosen label", "- [x] The chosen label")
        second = cli.ok("story", "import", str(folder), "--json").json()
        assert (second["epics_created"], second["stories_created"], second["stories_updated"]) == (
            0,
            0,
            1,
        )
        assert len(cli.ok("story", "list", "--json").json()) == 5
        assert cli.ok("story", "show", "2.2", "--json").json()["status"] == "done"

    def test_human_summary_goes_to_stdout(self, cli: Cli) -> None:
        out = cli.ok("story", "import", str(FIXTURES / "project")).stdout
        assert "stories created" in out
        assert "epics created" in out

    def test_a_malformed_folder_exits_2_naming_file_and_line_and_stores_nothing(
        self, cli: Cli
    ) -> None:
        outcome = cli("story", "import", str(FIXTURES / "malformed"))
        assert outcome.exit_code == 2
        assert outcome.error == (
            f"Error: {FIXTURES / 'malformed' / 'epic-2.md'}:9: "
            "story heading '## Story 3.1' does not belong to epic 2"
        )
        assert cli.ok("story", "list", "--json").json() == []
        assert cli.ok("epic", "list", "--json").json() == []


class TestEpicCommands:
    def test_epic_create_update_list_and_show(self, cli: Cli) -> None:
        epic_id = cli.ok(
            "epic", "create", "--title", "Billing", "--description", "Money"
        ).stdout.strip()
        assert epic_id.startswith("epic_")
        cli.ok("epic", "update", epic_id, "--status", "in_progress", "--title", "Invoicing")
        story_id = cli.ok("story", "create", "--title", "PDF", "--epic", epic_id).stdout.strip()
        listed = cli.ok("epic", "list", "--json").json()
        assert [(e["id"], e["title"], e["status"]) for e in listed] == [
            (epic_id, "Invoicing", "in_progress")
        ]
        assert set(listed[0]) == {
            "id",
            "key",
            "title",
            "description",
            "status",
            "story_counts",
            "created_at",
            "updated_at",
        }
        shown = cli.ok("epic", "show", epic_id, "--json").json()
        assert [s["id"] for s in shown["stories"]] == [story_id]
        assert shown["story_counts"]["backlog"] == 1

    def test_epic_show_lists_stories_in_file_order(self, cli: Cli) -> None:
        cli.ok("story", "import", str(FIXTURES / "project"))
        shown = cli.ok("epic", "show", "1", "--json").json()
        assert [s["key"] for s in shown["stories"]] == ["1.1", "1.2", "1.3"]
        table = cli.ok("epic", "show", "1").stdout
        assert "Team accounts and sign-in" in table
        assert "magic" in table  # the table wraps long titles at the terminal's width

    def test_an_invalid_epic_status_is_bad_usage(self, cli: Cli) -> None:
        epic_id = cli.ok("epic", "create", "--title", "Billing").stdout.strip()
        assert cli("epic", "update", epic_id, "--status", "finished").exit_code == 2
