"""``orchestrate pipeline …`` in process, on a test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines.catalog import list_templates, template_text
from tests.integration.cli.support import Cli, make_cli
from tests.integration.pipelines.conftest import approval, chain_yaml, pipeline_yaml, shell, work

BAD_NEEDS = """\
name: broken
steps:
  - id: test
    run: echo a
  - id: ship
    run: echo b
    needs: [tset]
"""


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


def run_jobs(settings: Settings) -> None:
    """What a worker would do: run every due job (approvals keep waiting)."""

    async def main() -> None:
        runtime = Runtime.open(settings)
        try:
            await work(runtime)
        finally:
            await runtime.close()

    asyncio.run(main())


def write(cli: Cli, name: str, text: str) -> Path:
    path = cli.workdir / name
    path.write_text(text)
    return path


def create(cli: Cli, text: str, file_name: str = "pipeline.yml") -> None:
    result = cli("pipeline", "create", str(write(cli, file_name, text)))
    assert result.exit_code == 0, result.stderr


def run_json(cli: Cli, run_id: str) -> dict[str, Any]:
    result = cli("pipeline", "run-show", run_id, "--json")
    assert result.exit_code == 0, result.stderr
    run: dict[str, Any] = json.loads(result.stdout)
    return run


def statuses(run: dict[str, Any]) -> dict[str, str]:
    return {step["id"]: step["status"] for step in run["steps"]}


def trigger(cli: Cli, name: str, *options: str) -> str:
    result = cli("pipeline", "trigger", name, *options)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


class TestValidate:
    def test_a_good_file_is_ok_and_exits_0(self, cli: Cli) -> None:
        result = cli("pipeline", "validate", str(write(cli, "good.yml", chain_yaml())))

        assert result.exit_code == 0
        assert result.stdout.strip() == f"ok {cli.workdir / 'good.yml'}"

    def test_each_problem_is_printed_as_file_line_column_and_the_exit_code_is_2(
        self, cli: Cli
    ) -> None:
        good = write(cli, "good.yml", chain_yaml())
        bad = write(cli, "bad.yml", BAD_NEEDS)

        result = cli("pipeline", "validate", str(bad), str(good))

        assert result.exit_code == 2
        lines = result.stdout.splitlines()
        assert lines[0] == (
            f"{bad}:7:13: step 'ship' needs 'tset', which is not a step of this pipeline "
            "(hint: Did you mean 'test'?)"
        )
        assert lines[1] == f"ok {good}"
        assert "1 problem(s) in 1 of 2 file(s)" in result.stderr

    def test_a_missing_file_is_a_problem_too(self, cli: Cli) -> None:
        result = cli("pipeline", "validate", "nowhere.yml")

        assert result.exit_code == 2
        assert result.stdout.startswith("nowhere.yml:1:1: cannot read: No such file")

    def test_text_a_shell_would_read_as_code_three_times_is_a_problem_at_its_expression(
        self, cli: Cli
    ) -> None:
        # Before, the refusal surfaced only when the step ran; validate said ok.
        script = "bash -c 'echo ${{ inputs.x }} | sh'"
        text = (
            f"name: nested\ninputs:\n  x: {{}}\nsteps:\n  - id: a\n    run: {json.dumps(script)}\n"
        )
        path = write(cli, "nested.yml", text)

        result = cli("pipeline", "validate", str(path))

        assert result.exit_code == 2
        column = len("    run: ") + json.dumps(script).index("inputs.x") + 1
        assert result.stdout.startswith(
            f"{path}:6:{column}: step 'a', 'run': 'inputs.x' is read as shell code more "
            "than twice here"
        )

    def test_json_lists_the_problems_of_each_file(self, cli: Cli) -> None:
        bad = write(cli, "bad.yml", BAD_NEEDS)

        result = cli("pipeline", "validate", str(bad), "--json")

        (report,) = json.loads(result.stdout)
        assert report["ok"] is False
        (problem,) = report["problems"]
        assert (problem["file"], problem["line"], problem["column"]) == (str(bad), 7, 13)

    def test_the_schema_is_json_schema_of_the_format(self, cli: Cli) -> None:
        result = cli("pipeline", "schema")

        schema = json.loads(result.stdout)
        assert schema["$schema"].startswith("https://json-schema.org/")
        assert {"name", "steps", "on", "inputs"} <= set(schema["properties"])


class TestTemplates:
    def test_the_templates_are_listed_with_descriptions(self, cli: Cli) -> None:
        result = cli("pipeline", "templates", "--json")

        names = {t["name"] for t in json.loads(result.stdout)}
        assert {"ci", "story", "nightly-maintenance", "release"} <= names

    @pytest.mark.parametrize("template", [t.name for t in list_templates()])
    def test_init_prints_a_template_that_validates(self, cli: Cli, template: str) -> None:
        printed = cli("pipeline", "init", "--template", template)
        path = write(cli, f"{template}.yml", printed.stdout)

        result = cli("pipeline", "validate", str(path))

        assert printed.exit_code == 0
        assert result.exit_code == 0, result.stdout

    def test_init_writes_the_file_but_never_over_one_without_force(self, cli: Cli) -> None:
        target = cli.workdir / ".orchestrate" / "pipelines" / "ci.yml"

        first = cli("pipeline", "init", "--template", "ci", "--output", str(target))
        target.write_text("mine")
        again = cli("pipeline", "init", "--template", "ci", "--output", str(target))
        forced = cli("pipeline", "init", "--template", "ci", "--output", str(target), "--force")

        assert first.exit_code == 0
        assert again.exit_code == 2
        assert "already exists; pass --force" in again.stderr
        assert forced.exit_code == 0
        assert target.read_text() == template_text("ci")

    def test_an_unknown_template_is_refused_with_a_suggestion(self, cli: Cli) -> None:
        result = cli("pipeline", "init", "--template", "cii")

        assert result.exit_code == 1
        assert "Did you mean 'ci'?" in result.stderr


class TestDefinitions:
    def test_create_registers_then_updates_the_pipeline(self, cli: Cli) -> None:
        path = write(cli, "hello.yml", pipeline_yaml("hello"))

        first = cli("pipeline", "create", str(path))
        path.write_text(pipeline_yaml("hello", description="Says hello"))
        second = cli("pipeline", "create", str(path))

        assert "Pipeline hello: version 1" in first.stderr
        assert "Pipeline hello: version 2" in second.stderr
        shown = json.loads(cli("pipeline", "show", "hello", "--json").stdout)
        assert (shown["description"], shown["source_path"]) == ("Says hello", str(path))
        assert [p["name"] for p in json.loads(cli("pipeline", "list", "--json").stdout)] == [
            "hello"
        ]

    def test_show_lists_steps_with_kinds_and_needs_and_prints_the_source(self, cli: Cli) -> None:
        create(cli, chain_yaml())

        table = cli("pipeline", "show", "chain")
        source = cli("pipeline", "show", "chain", "--source")

        (ship,) = [line for line in table.stdout.splitlines() if " ship " in line]
        assert [cell.strip() for cell in ship.split("│")[1:4]] == ["ship", "run", "test"]
        assert "manual only" in table.stdout
        assert source.stdout == chain_yaml()

    def test_an_invalid_file_is_not_registered(self, cli: Cli) -> None:
        result = cli("pipeline", "create", str(write(cli, "bad.yml", BAD_NEEDS)))

        assert result.exit_code == 2
        assert "bad.yml:7:13:" in result.stderr
        assert json.loads(cli("pipeline", "list", "--json").stdout) == []

    def test_a_file_in_a_repositorys_pipelines_folder_belongs_to_that_repository(
        self, cli: Cli, tmp_path: Path
    ) -> None:
        repo = tmp_path / "project"
        folder = repo / ".orchestrate" / "pipelines"
        folder.mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        (folder / "hello.yml").write_text(pipeline_yaml("hello"))

        cli("pipeline", "create", str(folder / "hello.yml"))

        shown = json.loads(cli("pipeline", "show", "hello", "--json").stdout)
        assert shown["repo_path"] == str(repo.resolve())

    def test_apply_registers_every_file_of_a_folder_or_none(self, cli: Cli) -> None:
        folder = cli.workdir / "pipelines"
        folder.mkdir()
        (folder / "a.yml").write_text(pipeline_yaml("first"))
        (folder / "b.yaml").write_text(pipeline_yaml("second"))
        (folder / "notes.txt").write_text("not a pipeline")
        broken = cli.workdir / "broken"
        broken.mkdir()
        (broken / "a.yml").write_text(pipeline_yaml("third"))
        (broken / "b.yml").write_text(BAD_NEEDS)

        applied = cli("pipeline", "apply", str(folder))
        refused = cli("pipeline", "apply", str(broken))

        assert applied.exit_code == 0, applied.stderr
        assert refused.exit_code == 2
        names = [p["name"] for p in json.loads(cli("pipeline", "list", "--json").stdout)]
        assert names == ["first", "second"]

    def test_a_deleted_pipeline_is_gone(self, cli: Cli) -> None:
        create(cli, pipeline_yaml("hello"))

        deleted = cli("pipeline", "delete", "hello")
        shown = cli("pipeline", "show", "hello")

        assert deleted.exit_code == 0
        assert shown.exit_code == 1
        assert "No pipeline named 'hello'" in shown.stderr


class TestRunning:
    def test_trigger_wait_runs_a_three_step_pipeline_and_exits_0(self, cli: Cli) -> None:
        create(cli, chain_yaml())

        result = cli("pipeline", "trigger", "chain", "--wait")

        assert result.exit_code == 0, result.stderr
        run_id = result.stdout.strip()
        assert run_id.startswith("prun_")
        progress = [line.split()[:3] for line in result.stderr.splitlines() if line[:1] == "✓"]
        assert [line[:3] for line in progress] == [
            ["✓", "build", "success"],
            ["✓", "test", "success"],
            ["✓", "ship", "success"],
        ]
        assert f"Run {run_id} (chain #1): success" in result.stderr
        run = run_json(cli, run_id)
        assert run["status"] == "success"
        assert [s["id"] for s in run["steps"]] == ["build", "test", "ship"]
        assert run["steps"][0]["outputs"] == {"result": "build-ok"}
        assert all(s["started_at"] and s["finished_at"] for s in run["steps"])
        assert {"attempts", "skip_reason"} <= set(run["steps"][0])

    def test_a_failing_pipeline_exits_1_and_shows_why(self, cli: Cli) -> None:
        create(cli, chain_yaml(fail_at="test"))

        result = cli("pipeline", "trigger", "chain", "--wait")

        assert result.exit_code == 1
        assert any(
            line.startswith("✗ test") and "exited with code 1" in line
            for line in result.stderr.splitlines()
        )
        run = run_json(cli, result.stdout.strip())
        assert run["status"] == "failure"
        assert statuses(run) == {"build": "success", "test": "failure", "ship": "skipped"}
        assert run["steps"][2]["skip_reason"]

    def test_inputs_are_given_as_name_value_pairs(self, cli: Cli) -> None:
        step = shell("say", 'echo "said=hi ${{ inputs.who }}" >> "$ORCHESTRATE_OUTPUT"')
        create(cli, pipeline_yaml("greet", [step], inputs={"who": {"required": True}}))

        run_id = trigger(cli, "greet", "--input", "who=Ada Lovelace", "--wait")

        assert run_json(cli, run_id)["steps"][0]["outputs"] == {"said": "hi Ada Lovelace"}

    def test_an_undeclared_input_exits_2_naming_the_declared_ones(self, cli: Cli) -> None:
        create(cli, pipeline_yaml("greet", inputs={"who": {"default": "x"}}))

        result = cli("pipeline", "trigger", "greet", "--input", "whom=Ada")

        assert result.exit_code == 2
        assert "has no input 'whom'" in result.stderr
        assert "Did you mean 'who'?" in result.stderr

    def test_an_input_without_a_value_exits_2(self, cli: Cli) -> None:
        create(cli, pipeline_yaml("greet", inputs={"who": {"default": "x"}}))

        result = cli("pipeline", "trigger", "greet", "--input", "who")

        assert result.exit_code == 2
        assert "--input takes NAME=VALUE" in result.stderr

    def test_runs_are_listed_newest_first_and_filtered(self, cli: Cli, settings: Settings) -> None:
        create(cli, chain_yaml("good"), "good.yml")
        create(cli, chain_yaml("bad", fail_at="ship"), "bad.yml")
        first = trigger(cli, "good")
        failed = trigger(cli, "bad")
        second = trigger(cli, "good")
        run_jobs(settings)

        everything = json.loads(cli("pipeline", "runs", "--json").stdout)
        good = json.loads(cli("pipeline", "runs", "good", "--json").stdout)
        failures = json.loads(cli("pipeline", "runs", "--status", "failure", "--json").stdout)

        assert [r["id"] for r in everything] == [second, failed, first]
        assert [r["id"] for r in good] == [second, first]
        assert [r["id"] for r in failures] == [failed]

    def test_logs_print_each_step_under_a_header_or_one_step(self, cli: Cli) -> None:
        create(cli, chain_yaml())
        run_id = trigger(cli, "chain", "--wait")

        everything = cli("pipeline", "logs", run_id)
        one = cli("pipeline", "logs", run_id, "test")
        followed = cli("pipeline", "logs", run_id, "--follow")

        assert "==> step build <==" in everything.stdout
        assert everything.stdout.index("build done") < everything.stdout.index("ship done")
        assert "test done" in one.stdout
        assert "build done" not in one.stdout
        assert "ship | ship done" in followed.stdout.splitlines()
        assert f"Run {run_id}: success" in followed.stderr

    def test_the_logs_of_an_unknown_step_name_the_steps(self, cli: Cli) -> None:
        create(cli, chain_yaml())
        run_id = trigger(cli, "chain")

        result = cli("pipeline", "logs", run_id, "tset")

        assert result.exit_code == 1
        assert "steps: build, test, ship" in result.stderr


def gated(cli: Cli, *approvers: str) -> None:
    steps = [
        shell("build", "echo built"),
        approval("ok", *approvers, needs="build"),
        shell("ship", "echo shipped", needs="ok"),
    ]
    create(cli, pipeline_yaml("gated", steps))


class TestApprovals:
    def test_only_a_named_approver_may_approve_and_only_once(
        self, cli: Cli, settings: Settings
    ) -> None:
        gated(cli, "ada")
        run_id = trigger(cli, "gated")
        run_jobs(settings)

        stranger = cli("pipeline", "approve", run_id, "ok", env={"LOGNAME": "bob"})
        approved = cli("pipeline", "approve", run_id, "ok", "-m", "lgtm", env={"LOGNAME": "ada"})
        again = cli("pipeline", "approve", run_id, "ok", env={"LOGNAME": "ada"})
        run_jobs(settings)

        assert stranger.exit_code == 2
        assert "approvers are: ada" in stranger.stderr
        assert approved.exit_code == 0, approved.stderr
        assert again.exit_code == 1
        run = run_json(cli, run_id)
        assert run["status"] == "success"
        assert run["steps"][1]["approvals"][0]["comment"] == "lgtm"

    def test_a_rejection_fails_the_run(self, cli: Cli, settings: Settings) -> None:
        gated(cli, "ada")
        run_id = trigger(cli, "gated")
        run_jobs(settings)

        result = cli("pipeline", "reject", run_id, "ok", "--comment", "no", env={"LOGNAME": "ada"})
        run_jobs(settings)

        assert result.exit_code == 0, result.stderr
        run = run_json(cli, run_id)
        assert run["status"] == "failure"
        assert statuses(run)["ship"] == "skipped"

    def test_cancelling_a_waiting_run_ends_it(self, cli: Cli, settings: Settings) -> None:
        gated(cli, "ada")
        run_id = trigger(cli, "gated")
        run_jobs(settings)

        result = cli("pipeline", "cancel", run_id)
        run_jobs(settings)

        assert result.exit_code == 0, result.stderr
        # It used to print "Cancelled run …; the run is running" whatever happened.
        said = " ".join(result.stderr.split())
        assert said == f"Cancelled run {run_id}; the run is cancelled"
        assert run_json(cli, run_id)["status"] == "cancelled"


class TestRerun:
    def test_rerun_of_the_failed_steps_reuses_what_succeeded(
        self, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Steps see the host only through the sandbox: share one read-only folder.
        shared = tmp_path / "shared"
        shared.mkdir()
        monkeypatch.setenv("ORCHESTRATE_SANDBOX_READ_ONLY_PATHS", str(shared))
        ready = shared / "ready"
        steps = [
            shell("build", "echo built"),
            shell("test", f"test -f {ready}", needs="build"),
        ]
        create(cli, pipeline_yaml("flaky", steps))
        failed = cli("pipeline", "trigger", "flaky", "--wait")
        ready.touch()

        again = cli("pipeline", "rerun", failed.stdout.strip(), "--failed", "--wait")

        assert failed.exit_code == 1
        assert again.exit_code == 0, again.stderr
        run = run_json(cli, again.stdout.strip())
        assert run["rerun_of"] == failed.stdout.strip()
        assert run["steps"][0]["reused_from"] is not None
