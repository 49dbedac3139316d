"""The rules beyond the models: ids, needs, cycles, expressions, inputs, time zones."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from orchestrate.pipelines.spec import (
    PipelineSpec,
    SpecProblem,
    check_pipeline,
    load_pipeline,
    validate_spec,
)
from tests.unit.pipelines.spec.builders import (
    agent_step,
    double_quoted,
    literal,
    make_pipeline,
    pipeline_step,
    position_of,
    run_step,
    single_quoted,
)


@dataclass(frozen=True)
class RuleCase:
    """A pipeline breaking one rule, where the problem must be, and what it must say."""

    id: str
    text: str
    at: tuple[int, int]
    message: str
    hint: str | None = None


def _case(
    id: str,
    text: str,
    snippet: str,
    message: str,
    hint: str | None = None,
    *,
    occurrence: int = 1,
    plus: int = 0,
) -> RuleCase:
    return RuleCase(id, text, position_of(text, snippet, occurrence, plus=plus), message, hint)


def _in_run(command: str, **fields: Any) -> str:
    """A pipeline whose step 'b' (after 'a') runs ``command``."""
    return make_pipeline(run_step("a"), run_step("b", command, **fields), **fields.pop("top", {}))


_DUPLICATE = make_pipeline(run_step("test"), run_step("test"))
_UNKNOWN_NEED = make_pipeline(run_step("test"), run_step("ship", needs=["test", "tset"]))
_UNKNOWN_NEED_STRING = make_pipeline(run_step("test"), run_step("ship", needs="tset"))
_CYCLE = make_pipeline(run_step("a", needs=["c"]), run_step("b", needs=["a"]),
                       run_step("c", needs=["b"]))  # fmt: skip
_SELF_NEED = make_pipeline(run_step("a", needs=["a"]))
_SELF_PIPELINE = make_pipeline(pipeline_step("again", pipeline="demo"))
_SYNTAX = make_pipeline(run_step("a", "echo ${{ inputs.x && }}"), inputs={"x": {}})
_SYNTAX_BLOCK = make_pipeline(run_step("a", literal("echo hi\necho ${{ inputs.x && }}\n")))
_SYNTAX_QUOTED = make_pipeline(run_step("a", double_quoted("echo ${{ inputs.x && }}")))
_SYNTAX_ESCAPED = make_pipeline(run_step("a", single_quoted("echo '' ${{ inputs.x && }}")))
_UNCLOSED = make_pipeline(run_step("a", "echo ${{ inputs.x"))
_UNKNOWN_CONTEXT = make_pipeline(run_step("a", "echo ${{ input.x }}"))
_SECRETS = make_pipeline(run_step("a", name="deploy ${{ secrets.TOKEN }}"))
_SECRET_DYNAMIC = make_pipeline(run_step("a", "echo ${{ secrets[inputs.x] }}"), inputs={"x": {}})
_NEEDS_NOT_NEEDED = make_pipeline(run_step("a"), run_step("b", "echo ${{ needs.a.outputs.x }}"))
_NEEDS_UNKNOWN = make_pipeline(
    run_step("build"), run_step("b", "echo ${{ needs.biuld.result }}", needs=["build"])
)
_STEPS_UNKNOWN = make_pipeline(run_step("build"), run_step("b", "echo ${{ steps.biuld.outcome }}"))
_INPUT_UNKNOWN = make_pipeline(
    run_step("a", "echo ${{ inputs.verison }}"), inputs={"version": {"required": True}}
)
_INPUT_NONE = make_pipeline(run_step("a", "echo ${{ inputs.version }}"))
_NO_MATRIX = make_pipeline(run_step("a", "echo ${{ matrix.os }}"))
_MATRIX_VAR = make_pipeline(
    run_step("a", "echo ${{ matrix.pyhton }}", matrix={"python": ["3.12"], "os": ["linux"]})
)
_MATRIX_SELF = make_pipeline(run_step("a", matrix={"os": ["${{ matrix.os }}"]}))
_STATUS_IN_RUN = make_pipeline(run_step("a", "echo ${{ failure() }}"))
_STATUS_IN_WITH = make_pipeline(agent_step("fix", with_={"task": "${{ always() }}"}))
_MIXED_IF = make_pipeline(run_step("a", if_="success() && ${{ true }}"))
_IF_BARE = make_pipeline(run_step("a", if_="inputs.go =="), inputs={"go": {}})
_IF_WRAPPED = make_pipeline(run_step("a", if_="${{ steps.nope.outcome }}"))
_NAME = make_pipeline(run_step("a", name="Build ${{ inputs.nope }}"))
_STEP_ENV = make_pipeline(run_step("a", env={"TOKEN": "${{ secret.TOKEN }}"}))
_PIPELINE_ENV = make_pipeline(env={"WHO": "${{ steps.a.outputs.x }}"})
_WITH_NESTED = make_pipeline(pipeline_step("child", with_={"items": ["ok", "${{ inputs.no }}"]}))
_CONCURRENCY_SHORT = make_pipeline(concurrency="deploy-${{ needs.a.result }}")
_CONCURRENCY_GROUP = make_pipeline(concurrency={"group": "deploy-${{ matrix.os }}"})
_CONTINUE = make_pipeline(run_step("a", continue__on__error="${{ input.flaky }}"))
_WORKDIR = make_pipeline(run_step("a", working_directory="${{ inputs.dir }}"))
_DEFAULT_NUMBER = make_pipeline(inputs={"count": {"type": "number", "default": "three"}})
_DEFAULT_BOOLEAN = make_pipeline(inputs={"flag": {"type": "boolean", "default": "yes"}})
_DEFAULT_STRING = make_pipeline(inputs={"python": {"type": "string", "default": 3.10}})
_DEFAULT_CHOICE = make_pipeline(
    inputs={"env": {"type": "choice", "options": ["dev", "prod"], "default": "prd"}}
)
_TIMEZONE = make_pipeline(on={"schedule": [{"cron": "0 3 * * *", "timezone": "Europe/Pari"}]})

RULE_CASES = [
    _case("duplicate step ids", _DUPLICATE, "id: test", "step id 'test' is used twice (first "
          "on line 3)", "give each step its own id", occurrence=2, plus=4),
    _case("unknown need", _UNKNOWN_NEED, "tset", "step 'ship' needs 'tset', which is not a step "
          "of this pipeline", "Did you mean 'test'?"),
    _case("unknown need given as a string", _UNKNOWN_NEED_STRING, "tset", "step 'ship' needs "
          "'tset', which is not a step of this pipeline", "Did you mean 'test'?"),
    _case("cycle", _CYCLE, "- c", "the needs form a cycle: a → c → b → a", "each step waits for "
          "the next one, so none can start; remove one of these needs", plus=2),
    _case("step needing itself", _SELF_NEED, "- a", "the needs form a cycle: a → a", "each step "
          "waits for the next one, so none can start; remove one of these needs", plus=2),
    _case("pipeline starting itself", _SELF_PIPELINE, "demo", "step 'again' starts pipeline "
          "'demo', which is this pipeline", "a pipeline that starts itself never finishes",
          occurrence=2),
    _case("expression syntax", _SYNTAX, "}}", "step 'a', 'run': Unexpected end of expression "
          "at column 12 of 'inputs.x &&'", "The expression stops before it is complete", plus=-1),
    _case("expression syntax in a block scalar", _SYNTAX_BLOCK, "}}", "step 'a', 'run': "
          "Unexpected end of expression at column 12 of 'inputs.x &&'",
          "The expression stops before it is complete", plus=-1),
    _case("expression syntax in a quoted scalar", _SYNTAX_QUOTED, "}}", "step 'a', 'run': "
          "Unexpected end of expression at column 12 of 'inputs.x &&'",
          "The expression stops before it is complete", plus=-1),
    _case("expression syntax in a scalar with escapes", _SYNTAX_ESCAPED, "'echo", "step 'a', "
          "'run': Unexpected end of expression at column 12 of 'inputs.x &&'",
          "The expression stops before it is complete"),
    _case("unclosed expression", _UNCLOSED, "${{", "step 'a', 'run': The '${{' at offset 5 is "
          "never closed", "End the expression with '}}'"),
    _case("unknown context", _UNKNOWN_CONTEXT, "input.x", "step 'a', 'run': unknown context "
          "'input'", "Did you mean 'inputs'?"),
    _case("secrets outside run and env", _SECRETS, "secrets", "step 'a', 'name': 'secrets' "
          "cannot be read here", "secrets can be read in 'run:' and 'env:' only, where they "
          "reach the step's process as environment variables; elsewhere they would be stored "
          "or shown"),
    _case("secret named by an expression", _SECRET_DYNAMIC, "secrets", "step 'a', 'run': a "
          "secret must be named literally: secrets.NAME", "the secrets a step receives are "
          "known before it runs"),
    _case("needs of a step not needed", _NEEDS_NOT_NEEDED, "needs.a", "step 'b', 'run': "
          "needs.a: 'a' is not in this step's needs", "add 'a' to the needs of step 'b'"),
    _case("needs of an unknown step", _NEEDS_UNKNOWN, "needs.biuld", "step 'b', 'run': "
          "needs.biuld: 'biuld' is not in this step's needs", "Did you mean 'build'?"),
    _case("steps of an unknown step", _STEPS_UNKNOWN, "steps.biuld", "step 'b', 'run': "
          "steps.biuld: there is no step 'biuld'", "Did you mean 'build'?"),
    _case("undeclared input", _INPUT_UNKNOWN, "inputs.verison", "step 'a', 'run': "
          "inputs.verison: no input 'verison' is declared", "Did you mean 'version'?"),
    _case("input of a pipeline without inputs", _INPUT_NONE, "inputs.version", "step 'a', "
          "'run': inputs.version: no input 'version' is declared", "declare it under 'inputs:'"),
    _case("matrix without a matrix", _NO_MATRIX, "matrix.os", "step 'a', 'run': 'matrix' "
          "cannot be read here; this step has no matrix"),
    _case("unknown matrix variable", _MATRIX_VAR, "matrix.pyhton", "step 'a', 'run': "
          "matrix.pyhton: the matrix has no variable 'pyhton'", "Did you mean 'python'?"),
    _case("matrix reading itself", _MATRIX_SELF, "matrix.os", "step 'a', 'matrix.os.0': "
          "'matrix' cannot be read here; only inputs, env, steps, needs, trigger, pipeline and "
          "run can"),
    _case("status function in run", _STATUS_IN_RUN, "failure", "step 'a', 'run': failure() is "
          "a status function, only allowed in 'if'", "success(), failure(), always() and "
          "cancelled() belong in 'if:' conditions"),
    _case("status function in with", _STATUS_IN_WITH, "always", "step 'fix', 'with.task': "
          "always() is a status function, only allowed in 'if'", "success(), failure(), "
          "always() and cancelled() belong in 'if:' conditions"),
    _case("text around an if expression", _MIXED_IF, "success()", "step 'a', 'if': text around "
          "${{ }} makes the condition a string, always true", "put it all inside one ${{ }}, "
          "or write it without ${{ }}"),
    _case("bare if", _IF_BARE, "inputs.go ==", "step 'a', 'if': Unexpected end of expression "
          "at column 13 of 'inputs.go =='", "The expression stops before it is complete", plus=12),
    _case("wrapped if", _IF_WRAPPED, "steps.nope", "step 'a', 'if': steps.nope: there is no "
          "step 'nope'", "steps: a"),
    _case("step name", _NAME, "inputs.nope", "step 'a', 'name': inputs.nope: no input 'nope' "
          "is declared", "declare it under 'inputs:'"),
    _case("step env", _STEP_ENV, "secret.", "step 'a', 'env.TOKEN': unknown context 'secret'",
          "Did you mean 'secrets'?"),
    _case("pipeline env", _PIPELINE_ENV, "steps.a", "'env.WHO': 'steps' cannot be read here; "
          "only inputs, trigger, pipeline, run and secrets can"),
    _case("nested with value", _WITH_NESTED, "inputs.no", "step 'child', 'with.items.1': "
          "inputs.no: no input 'no' is declared", "declare it under 'inputs:'"),
    _case("concurrency shorthand", _CONCURRENCY_SHORT, "needs.a", "'concurrency': 'needs' "
          "cannot be read here; only inputs, trigger, pipeline and run can"),
    _case("concurrency group", _CONCURRENCY_GROUP, "matrix.os", "'concurrency.group': 'matrix' "
          "cannot be read here; only inputs, trigger, pipeline and run can"),
    _case("continue-on-error expression", _CONTINUE, "input.flaky", "step 'a', "
          "'continue-on-error': unknown context 'input'", "Did you mean 'inputs'?"),
    _case("working directory", _WORKDIR, "inputs.dir", "step 'a', 'working_directory': "
          "inputs.dir: no input 'dir' is declared", "declare it under 'inputs:'"),
    _case("number default", _DEFAULT_NUMBER, "three", "input 'count': default 'three' is not a "
          "number"),
    _case("boolean default", _DEFAULT_BOOLEAN, "yes", "input 'flag': default 'yes' is not a "
          "boolean"),
    _case("string default", _DEFAULT_STRING, "3.1", "input 'python': default 3.1 is not a "
          "string", "quote it to make it a string"),
    _case("choice default", _DEFAULT_CHOICE, "prd", "input 'env': default 'prd' is not one of "
          "its options", "Did you mean 'prod'?"),
    _case("time zone", _TIMEZONE, "Europe/Pari", "unknown time zone 'Europe/Pari'",
          "Did you mean 'Europe/Paris'?"),
]  # fmt: skip


@pytest.mark.parametrize("case", RULE_CASES, ids=lambda case: case.id)
def test_each_rule_is_placed_and_explained(case: RuleCase) -> None:
    problems = check_pipeline(case.text, "p.yml")

    assert len(problems) == 1, problems
    problem = problems[0]
    assert (problem.line, problem.column) == case.at
    assert problem.message == case.message
    assert problem.hint == case.hint


VALID_CASES = {
    "needs of a needed step": make_pipeline(
        run_step("a"), run_step("b", "echo ${{ needs.a.outputs.x }}", needs="a")
    ),
    "steps of any step": make_pipeline(
        run_step("a"), run_step("b", if_="steps.a.outcome == 'failure'", needs=["a"])
    ),
    "names in another case": make_pipeline(
        run_step("Build"),
        run_step("b", "echo ${{ Steps.build.outputs.x }} ${{ INPUTS.Name }}"),
        inputs={"name": {}},
    ),
    "status functions in if": make_pipeline(
        run_step("a"), run_step("b", needs="a", if_="${{ failure() || cancelled() }}")
    ),
    "boolean if": make_pipeline(run_step("a", if_=False)),
    "matrix variables and include keys": make_pipeline(
        run_step(
            "a",
            "echo ${{ matrix.os }} ${{ matrix.extra }}",
            matrix={"os": ["linux"], "include": [{"os": "mac", "extra": "x"}]},
        )
    ),
    "matrix value from an input": make_pipeline(
        run_step("a", matrix={"os": "${{ fromJSON(inputs.oses) }}"}),
        inputs={"oses": {"type": "json", "default": ["linux"]}},
    ),
    "run context at pipeline level": make_pipeline(
        concurrency="ci-${{ trigger.pull_request.number || run.id }}",
        env={"NAME": "${{ pipeline.name }}"},
    ),
    "fitting input defaults": make_pipeline(
        inputs={
            "count": {"type": "number", "default": 3.5},
            "flag": {"type": "boolean", "default": False},
            "env": {"type": "choice", "options": ["dev"], "default": "dev"},
            "data": {"type": "json", "default": {"a": [1]}},
            "name": {"default": "x"},
            "attempts": {"type": "string", "default": 3},
            "level": {"type": "choice", "options": ["1", "2"], "default": 2},
        }
    ),
    "time zone": make_pipeline(
        on={"schedule": [{"cron": "0 3 * * *", "timezone": "America/New_York"}]}
    ),
    "literal braces": make_pipeline(run_step("a", "echo '${{ '{{' }}'")),
}


@pytest.mark.parametrize("text", VALID_CASES.values(), ids=list(VALID_CASES))
def test_what_the_rules_allow_loads_without_problems(text: str) -> None:
    assert check_pipeline(text) == []


class TestWholeFiles:
    def test_every_rule_problem_is_reported_in_file_order(self) -> None:
        text = make_pipeline(
            run_step("a", "echo ${{ input.x }}", needs=["b"]),
            run_step("b", needs=["a"]),
            run_step("b"),
        )

        problems = check_pipeline(text)

        assert [p.message for p in problems] == [
            "the needs form a cycle: a → b → a",
            "step 'a', 'run': unknown context 'input'",
            "step id 'b' is used twice (first on line 7)",
        ]
        assert problems == sorted(problems, key=lambda p: (p.line, p.column))

    def test_a_spec_built_in_python_is_checked_with_positions_at_the_start(self) -> None:
        spec = PipelineSpec.model_validate(
            {"name": "demo", "steps": [{"id": "a", "run": "x", "needs": ["nope"]}]}
        )

        problems = validate_spec(spec)

        assert problems == [
            SpecProblem(
                "<pipeline>",
                1,
                1,
                "step 'a' needs 'nope', which is not a step of this pipeline",
                None,
            )
        ]

    def test_a_loaded_pipeline_has_passed_every_rule(self) -> None:
        spec = load_pipeline(make_pipeline(run_step("a"), run_step("b", needs="a")))

        assert validate_spec(spec) == []
