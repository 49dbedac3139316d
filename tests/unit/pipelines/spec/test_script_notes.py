"""``pipeline validate`` explains where a ``run:`` script reads its ``${{ }}`` differently."""

from __future__ import annotations

import pytest

from orchestrate.pipelines.spec.loader import parse_pipeline
from orchestrate.pipelines.spec.positions import SourceMap
from orchestrate.pipelines.spec.problems import SpecProblem
from orchestrate.pipelines.spec.script_notes import script_notes
from orchestrate.pipelines.spec.secret_refs import missing_secret_problems, step_secret_names
from tests.unit.pipelines.spec.builders import literal, make_pipeline, position_of, run_step


def _notes(text: str) -> list[SpecProblem]:
    spec, problems, where = parse_pipeline(text, "p.yml")
    assert not problems
    assert spec is not None
    return script_notes(spec, where)


@pytest.mark.parametrize(
    ("script", "starts"),
    [
        ("echo ${{ inputs.x }}", "note: ${{ inputs.x }} is not quoted"),
        ("echo '${{ inputs.x }}'", "note: ${{ inputs.x }} is inside single quotes"),
        ("echo $'${{ inputs.x }}'", "note: ${{ inputs.x }} is inside $'...' quotes"),
        ("cat <<'EOF'\n${{ inputs.x }}\nEOF\n", "warning: ${{ inputs.x }} is inside a quoted"),
        ('eval "echo ${{ inputs.x }}"', "warning: ${{ inputs.x }} is read twice here"),
        ('echo "echo ${{ inputs.x }}" | sh', "warning: ${{ inputs.x }} is read twice here"),
        ("echo $(( ${{ inputs.x }} + 1 ))", "note: ${{ inputs.x }} is used in shell arithmetic"),
    ],
)
def test_a_changed_reading_is_explained_at_its_expression(script: str, starts: str) -> None:
    text = make_pipeline(run_step("a", literal(script)), inputs={"x": {}})
    (note,) = _notes(text)
    assert note.message.startswith(f"step 'a', 'run': {starts}")
    assert (note.line, note.column) == position_of(text, "inputs.x")


@pytest.mark.parametrize(
    "script",
    ['echo "${{ inputs.x }}"', "cat <<EOF\n${{ inputs.x }}\nEOF\n", "# ${{ inputs.x }}"],
)
def test_a_reading_that_does_not_change_gets_no_note(script: str) -> None:
    assert _notes(make_pipeline(run_step("a", literal(script)), inputs={"x": {}})) == []


def test_a_step_receives_only_the_secrets_it_or_the_pipeline_env_names() -> None:
    text = make_pipeline(
        run_step("a", 'echo "${{ secrets.one }}"', env={"T": "${{ secrets['TWO'] }}"}),
        run_step("b", "echo hi"),
        env={"SHARED": "${{ secrets.Three }}"},
    )
    spec, problems, _ = parse_pipeline(text)
    assert not problems
    assert spec is not None
    assert step_secret_names(spec, spec.steps[0]) == {"ONE", "TWO", "THREE"}
    assert step_secret_names(spec, spec.steps[1]) == {"THREE"}


def test_a_missing_secret_is_named_at_its_place() -> None:
    text = make_pipeline(run_step("a", "echo ${{ secrets.DEPLOY_KEY }} ${{ secrets.OK }}"))
    spec, _, where = parse_pipeline(text, "p.yml")
    assert spec is not None
    (problem,) = missing_secret_problems(spec, where, {"OK"})
    assert problem.message == "secret 'DEPLOY_KEY' does not exist"
    assert (problem.line, problem.column) == position_of(text, "secrets.DEPLOY_KEY")
    assert missing_secret_problems(spec, SourceMap("x"), {"OK", "DEPLOY_KEY"}) == []
