"""Loading pipeline YAML: the model's complaints placed on the line and column at fault."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.pipelines.spec import (
    PipelineInvalid,
    SpecProblem,
    StepKind,
    check_pipeline,
    load_pipeline,
    load_pipeline_file,
)
from tests.unit.pipelines.spec.builders import (
    agent_step,
    approval_step,
    make_pipeline,
    position_of,
    run_step,
)


def only_problem(text: str) -> SpecProblem:
    problems = check_pipeline(text, "p.yml")
    assert len(problems) == 1, problems
    return problems[0]


class TestLoading:
    def test_a_valid_pipeline_loads_into_its_model(self) -> None:
        text = make_pipeline(
            run_step("test"),
            agent_step("fix", needs=["test"], if_="failure()"),
            approval_step("approve", needs="fix"),
        )

        spec = load_pipeline(text)

        assert spec.step_ids == ["test", "fix", "approve"]
        assert [step.kind for step in spec.steps] == [
            StepKind.RUN,
            StepKind.AGENT,
            StepKind.APPROVAL,
        ]
        assert spec.step("approve").needs == ["fix"]
        assert spec.step("fix").if_ == "failure()"

    def test_on_is_read_as_a_key_as_yaml_1_2_says_not_as_true(self) -> None:
        text = make_pipeline(on={"schedule": [{"cron": "0 3 * * *", "timezone": "UTC"}]})

        spec = load_pipeline(text)

        assert spec.on.schedule[0].cron == "0 3 * * *"

    def test_yes_and_no_stay_strings_as_yaml_1_2_says(self) -> None:
        text = make_pipeline(run_step("a", env={"ANSWER": "yes"}))

        assert load_pipeline(text).step("a").env == {"ANSWER": "yes"}

    def test_a_date_default_is_kept_as_its_text(self) -> None:
        text = "name: demo\ninputs:\n  day:\n    default: 2024-01-31\nsteps:\n  - id: a\n    run: x"

        assert load_pipeline(text).inputs["day"].default == "2024-01-31"

    def test_the_model_holds_plain_values_not_yaml_nodes(self) -> None:
        text = make_pipeline(agent_step("fix", with_={"task": "x", "max_turns": 3}))

        with_ = load_pipeline(text).step("fix").with_

        assert type(with_) is dict
        assert type(with_["max_turns"]) is int

    def test_check_pipeline_returns_no_problems_for_a_valid_pipeline(self) -> None:
        assert check_pipeline(make_pipeline()) == []

    def test_a_file_is_reported_under_its_path(self, tmp_path: Path) -> None:
        path = tmp_path / "ci.yml"
        path.write_text(make_pipeline(run_step("a", nedds=["b"])), encoding="utf-8")

        with pytest.raises(PipelineInvalid) as caught:
            load_pipeline_file(path)

        assert caught.value.problems[0].file == str(path)

    def test_a_missing_file_is_not_found(self, tmp_path: Path) -> None:
        with pytest.raises(NotFound, match=r"No pipeline file at .*nope\.yml"):
            load_pipeline_file(tmp_path / "nope.yml")

    def test_a_valid_file_loads(self, tmp_path: Path) -> None:
        path = tmp_path / "ci.yml"
        path.write_text(make_pipeline(name="ci"), encoding="utf-8")

        assert load_pipeline_file(path).name == "ci"


class TestProblemReports:
    def test_a_problem_reads_like_a_compiler_message(self) -> None:
        problem = SpecProblem("ci.yml", 14, 12, "unknown key 'nedds'", "Did you mean 'needs'?")

        assert str(problem) == "ci.yml:14:12: unknown key 'nedds' (hint: Did you mean 'needs'?)"

    def test_a_problem_without_hint_has_no_hint_part(self) -> None:
        assert str(SpecProblem("ci.yml", 1, 1, "empty")) == "ci.yml:1:1: empty"

    def test_the_error_lists_every_problem_one_per_line(self) -> None:
        text = make_pipeline(run_step("a", nedds=["b"]), run_step("b", timeot=3))

        with pytest.raises(PipelineInvalid) as caught:
            load_pipeline(text, "ci.yml")

        lines = caught.value.message.splitlines()
        assert lines == [str(problem) for problem in caught.value.problems]
        assert len(lines) == 2
        assert lines[0].startswith("ci.yml:4:5: step 'a': unknown key 'nedds'")

    def test_the_error_is_a_validation_failure_carrying_the_problems_for_the_api(self) -> None:
        with pytest.raises(ValidationFailed) as caught:
            load_pipeline(make_pipeline(run_step("a", nedds=["b"])), "ci.yml")

        first = caught.value.context["problems"][0]
        assert first == {
            "file": "ci.yml",
            "line": 4,
            "column": 5,
            "message": "step 'a': unknown key 'nedds'",
            "hint": "Did you mean 'needs'?",
        }


@dataclass(frozen=True)
class ModelCase:
    """A broken pipeline, where the problem must be, and what it must say."""

    id: str
    text: str
    at: tuple[int, int]
    message: str
    hint: str | None = None


def _case(
    id: str, text: str, snippet: str, message: str, hint: str | None = None, occurrence: int = 1
) -> ModelCase:
    return ModelCase(id, text, position_of(text, snippet, occurrence), message, hint)


_NEEDS_TYPO = make_pipeline(run_step("a"), run_step("b", nedds=["a"]))
_TOP_TYPO = make_pipeline(step=[])
_HYPHEN_TYPO = make_pipeline(run_step("a", continue__on__eror=True))
_WITH_TYPO = make_pipeline(agent_step("fix", with_={"task": "x", "modle": "opus"}))
_APPROVAL_TYPO = make_pipeline(
    approval_step("ok", approval={"approvers": ["admin"], "requried": 1})
)
_FAR_TYPO = make_pipeline(run_step("a", zzzzzz=1))
_IF_LIST = make_pipeline(run_step("a", if_=[1]))
_TIMEOUT = make_pipeline(run_step("a", timeout="soon"))
_NO_ID = make_pipeline(run_step("a"), {"name": "Build", "run": "make"})
_NO_TASK = make_pipeline(agent_step("fix", with_={"model": "opus"}))
_TWO_KINDS = make_pipeline(run_step("a", agent="issue-fixer"))
_NO_STEPS = "name: demo\ndescription: nothing to do\n"
_EMPTY_STEPS = "name: demo\nsteps: []\n"
_BAD_NAME = make_pipeline(name="my pipeline")
_BAD_ID = make_pipeline(run_step("1st"))
_ON_TIMEOUT = make_pipeline(
    approval_step("ok", approval={"approvers": ["admin"], "on_timeout": "maybe"})
)
_CONCURRENCY = make_pipeline(concurrency=5)
_INPUT_TYPE = make_pipeline(inputs={"count": {"type": "integer"}})
_CHOICE = make_pipeline(inputs={"env": {"type": "choice"}})
_CRON_TYPE = make_pipeline(on={"schedule": [{"cron": 5}]})

MODEL_CASES = [
    _case("unknown step key", _NEEDS_TYPO, "nedds", "step 'b': unknown key 'nedds'",
          "Did you mean 'needs'?"),
    _case("unknown top-level key", _TOP_TYPO, "step:", "unknown key 'step'",
          "Did you mean 'steps'?"),
    _case("unknown hyphenated key", _HYPHEN_TYPO, "continue-on-eror",
          "step 'a': unknown key 'continue-on-eror'", "Did you mean 'continue-on-error'?"),
    _case("unknown agent input", _WITH_TYPO, "modle", "step 'fix', 'with': unknown key 'modle'",
          "Did you mean 'model'?"),
    _case("unknown approval key", _APPROVAL_TYPO, "requried",
          "step 'ok', 'approval': unknown key 'requried'", "Did you mean 'required'?"),
    _case("unknown key far from any", _FAR_TYPO, "zzzzzz", "step 'a': unknown key 'zzzzzz'",
          "allowed keys: id, name, needs, if, env, timeout, retry, continue_on_error, "
          "continue-on-error, matrix, run, working_directory, working-directory, network, "
          "agent, approval, pipeline, ci, scan, with"),
    _case("wrong type of if", _IF_LIST, "if:", "step 'a', 'if': should be a string or "
          "true/false, not a list"),
    _case("bad duration", _TIMEOUT, "soon", "step 'a', 'timeout': 'soon' is not a duration; "
          "write seconds (90) or '90s', '10m', '1h30m', '3d'"),
    _case("step without id", _NO_ID, "name: Build", "step 2: missing required key 'id'"),
    _case("agent without task", _NO_TASK, "with:", "step 'fix', 'with': missing required key "
          "'task'"),
    _case("step with two kinds", _TWO_KINDS, "id: a", "step 'a': a step needs exactly one of "
          "run, agent, approval, pipeline, ci, scan (found: run, agent)"),
    _case("pipeline without steps", _NO_STEPS, "name", "missing required key 'steps'"),
    _case("empty steps", _EMPTY_STEPS, "steps", "'steps': should have at least 1 item after "
          "validation, not 0"),
    _case("bad pipeline name", _BAD_NAME, "my pipeline", "'name': should start with a letter "
          "or digit and hold only letters, digits, '_', '.' and '-' (at most 100 characters)"),
    _case("bad step id", _BAD_ID, "1st", "step '1st', 'id': should start with a letter or '_' "
          "and hold only letters, digits, '_' and '-' (at most 100 characters)"),
    _case("bad on_timeout", _ON_TIMEOUT, "maybe", "step 'ok', 'approval.on_timeout': should "
          "be 'reject' or 'approve'"),
    _case("concurrency of the wrong type", _CONCURRENCY, "5", "'concurrency': should be a "
          "mapping, not the number 5"),
    _case("unknown input type", _INPUT_TYPE, "integer", "input 'count', 'type': should be "
          "'string', 'number', 'boolean', 'choice' or 'json'"),
    _case("choice without options", _CHOICE, "env:", "input 'env': a 'choice' input needs "
          "'options'"),
    _case("cron of the wrong type", _CRON_TYPE, "5", "'on.schedule[0].cron': should be a "
          "string, not the number 5"),
]  # fmt: skip


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda case: case.id)
def test_each_model_problem_is_placed_and_explained(case: ModelCase) -> None:
    problem = only_problem(case.text)

    assert (problem.line, problem.column) == case.at
    assert problem.message == case.message
    assert problem.hint == case.hint


class TestBrokenYaml:
    def test_a_syntax_error_is_placed_where_the_parser_stopped(self) -> None:
        problem = only_problem("name: demo\nsteps: [\n")

        assert (problem.line, problem.column) == (3, 1)
        assert problem.message.startswith("invalid YAML: ")
        assert problem.hint == "while parsing a flow node at line 3"

    def test_a_duplicate_key_points_at_the_second_one(self) -> None:
        text = "name: demo\nsteps:\n  - id: a\n    run: x\n    run: y\n"

        problem = only_problem(text)

        assert (problem.line, problem.column) == (5, 5)
        assert 'duplicate key "run"' in problem.message
        assert problem.hint == "a key may appear only once in a mapping"

    def test_two_documents_in_one_file_are_a_problem(self) -> None:
        problem = only_problem("name: a\n---\nname: b\n")

        assert (problem.line, problem.column) == (2, 1)
        assert "another document" in problem.message

    @pytest.mark.parametrize("text", ["", "   \n", "# just a comment\n"])
    def test_an_empty_file_is_a_clear_problem(self, text: str) -> None:
        problem = only_problem(text)

        assert str(problem) == (
            "p.yml:1:1: the file holds no pipeline; it needs at least 'name' and 'steps' "
            "(hint: start from a template: orchestrate pipeline init --template ci)"
        )

    @pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "a list"), ("hello\n", "a string")])
    def test_a_top_level_that_is_not_a_mapping_is_a_clear_problem(
        self, text: str, kind: str
    ) -> None:
        problem = only_problem(text)

        assert problem.message == (
            f"a pipeline is a mapping of keys such as 'name' and 'steps', not {kind}"
        )

    def test_a_bad_tag_is_a_problem_not_a_crash(self) -> None:
        problem = only_problem("name: demo\nsteps: !!int x\n")

        assert problem.message.startswith("invalid YAML")


class TestAllProblemsAtOnce:
    def test_every_model_problem_of_every_step_is_reported(self) -> None:
        text = make_pipeline(run_step("a", nedds=["b"]), run_step("b", timeout="soon"))

        problems = check_pipeline(text)

        assert [p.line for p in problems] == [
            position_of(text, "nedds")[0],
            position_of(text, "soon")[0],
        ]

    def test_rules_still_run_when_unknown_keys_are_the_only_model_problem(self) -> None:
        text = make_pipeline(run_step("a", nedds=["b"]), run_step("b", needs=["nope"]))

        messages = [problem.message for problem in check_pipeline(text)]

        assert messages == [
            "step 'a': unknown key 'nedds'",
            "step 'b' needs 'nope', which is not a step of this pipeline",
        ]

    def test_rules_do_not_run_on_a_spec_the_model_rejected_otherwise(self) -> None:
        text = make_pipeline(run_step("a", timeout="soon"), run_step("b", needs=["nope"]))

        assert len(check_pipeline(text)) == 1
