"""Where bash evaluates a value as arithmetic or a variable name, it must be an integer or a name.

bash evaluates an array subscript inside such text, command substitutions included: with
``V='a[$(id)]'``, ``[[ $V -eq 1 ]]`` runs ``id``. Each context below is first shown to
really run the payload when the value reaches bash unchecked, then to be refused when a
step runs it, in every quoting, while integers (or names) keep working.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.pipelines.expressions.shell_lexer import Quoting
from orchestrate.pipelines.expressions.shell_script import prepare_script

from .shell_runs import PAYLOADS, QUOTED, run_step, run_unchecked

ARITHMETIC = {
    "[[ -eq ]]": "[[ {e} -eq 1 ]]",
    "[[ -ne ]], right operand": "[[ 1 -ne {e} ]]",
    "[[ -lt ]] after &&": "[[ 1 && {e} -lt 1 ]]",
    "[[ -le ]] in parentheses": "[[ ( {e} -le 1 ) ]]",
    "[[ -gt ]]": "[[ {e} -gt 1 ]]",
    "[[ ! -ge ]]": "[[ ! {e} -ge 1 ]]",
    "(( ))": "(( {e} ))",
    "$(( ))": "echo $(( {e} ))",
    "$[ ]": "echo $[ {e} ]",
    "for (( ))": "for (( i = 0; i < {e}; i++ )); do :; done",
    "let": "let {e}",
    "let x=": "let x={e}",
    "declare -i": "declare -i y={e}",
    "typeset -i": "typeset -i y={e}",
    "local -i": "f() { local -i y={e}; }; f",
    "declare -ix": "declare -ix y={e}",
    "declared -i earlier": "declare -i n; n={e}",
    "+= to an integer": "declare -i n=1; n+={e}",
    "substring offset": "s=abc; echo ${s:{e}}",
    "substring length": 's=abc; echo "${s:0:{e}}"',
    "subscript in an expansion": 'a=(x y); echo "${a[{e}]}"',
    "subscript in an assignment": "a[{e}]=x",
    "subscript in an element list": "a=([{e}]=x)",
    "element of an integer array": "declare -ai a=({e})",
    "copied, then used in (( ))": "n={e}; (( n > 1 ))",
    "copied, then used in [[ -gt ]]": "n={e}\n[[ $n -gt 1 ]]",
    "copied, then a subscript": 'n={e}; a=(x); echo "${a[n]}"',
}
NAMES = {
    "read": "read {e} <<< v",
    "printf -v": "printf -v {e} %s v",
    "[[ -v ]]": "[[ -v {e} ]]",
    "test -v": "test -v {e}",
    "[ -v ]": "[ -v {e} ]",
    "declare name=": "declare {e}=v",
    "declare -n": "declare -n r={e}; echo $r",
    "local -n": "f() { local -n r={e}; echo $r; }; f",
    "declared -n earlier": "declare -n r; r={e}; echo $r",
}
SUBSCRIPT = PAYLOADS["array subscript"]


def _source(template: str, quoting: str) -> str:
    return template.replace("{e}", QUOTED[quoting])


@pytest.mark.parametrize("template", [*ARITHMETIC.values(), *NAMES.values()])
def test_bash_runs_a_subscript_in_these_contexts_when_nothing_checks(
    template: str, tmp_path: Path
) -> None:
    run_unchecked(_source(template, "double quotes"), SUBSCRIPT, tmp_path)
    assert (tmp_path / "pwned").exists()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("quoting", QUOTED)
@pytest.mark.parametrize("template", ARITHMETIC.values(), ids=ARITHMETIC.keys())
def test_a_non_integer_in_arithmetic_fails_the_step_and_runs_nothing(
    template: str, quoting: str, payload: str, tmp_path: Path
) -> None:
    run = run_step(_source(template, quoting), payload, tmp_path)
    assert run.refused is not None
    assert "'inputs.x' is used in shell arithmetic and must be an integer" in str(run.refused)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("quoting", QUOTED)
@pytest.mark.parametrize("template", NAMES.values(), ids=NAMES.keys())
def test_a_value_that_is_not_a_name_fails_the_step_where_bash_reads_a_name(
    template: str, quoting: str, payload: str, tmp_path: Path
) -> None:
    run = run_step(_source(template, quoting), payload, tmp_path)
    assert run.refused is not None
    assert "'inputs.x' is used as a shell variable name" in str(run.refused)
    assert not (tmp_path / "pwned").exists()


def test_the_refusal_points_at_the_expression() -> None:
    source = "echo start\n[[ ${{ inputs.x }} -gt 1 ]]"
    run = run_step(source, SUBSCRIPT, Path("."))
    assert run.refused is not None
    assert run.refused.offset == source.index("inputs.x")


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        ("[[ {e} -eq 2 ]] && echo yes", "yes\n"),
        ("[[ 1 -lt {e} && 1 ]] && echo yes", "yes\n"),
        ("(( {e} == 2 )) && echo yes", "yes\n"),
        ("echo $(( {e} + 1 ))", "3\n"),
        ("let x={e}+1; echo $x", "3\n"),
        ("declare -i y={e}; echo $y", "2\n"),
        ("s=abcdef; echo ${s:{e}}", "cdef\n"),
        ('s=abcdef; echo "${s:0:{e}}"', "ab\n"),
        ('a=(x y z); echo "${a[{e}]}"', "z\n"),
        ("a[{e}]=q; echo ${a[2]}", "q\n"),
        ("for (( i = 0; i < {e}; i++ )); do echo $i; done", "0\n1\n"),
        ("n={e}; (( n > 1 )) && echo $n", "2\n"),
        ("declare -A h=([{e}]=v); echo ${!h[@]}", "2\n"),
    ],
)
@pytest.mark.parametrize("quoting", ["no quotes", "double quotes"])
def test_an_integer_keeps_working_in_arithmetic(
    source: str, printed: str, quoting: str, tmp_path: Path
) -> None:
    run = run_step(_source(source, quoting), "2", tmp_path)
    assert run.refused is None
    assert run.stdout == printed


@pytest.mark.parametrize(
    "source",
    [
        "read {e} <<< v; echo $name",
        "printf -v {e} %s v; echo $name",
        "declare {e}=v; echo $name",
        "declare -n r={e}; name=v; echo $r",
    ],
)
def test_a_variable_name_keeps_working_where_bash_reads_one(source: str, tmp_path: Path) -> None:
    run = run_step(_source(source, "double quotes"), "name", tmp_path)
    assert run.refused is None
    assert run.stdout == "v\n"


@pytest.mark.parametrize(
    ("source", "quoting"),
    [
        ("[[ ${{ x }} -eq 1 ]]", Quoting.ARITHMETIC),
        ("if [[ -n $a && 1 -ge '${{ x }}' ]]; then :; fi", Quoting.ARITHMETIC),
        ("bash -c '(( ${{ x }} ))'", Quoting.ARITHMETIC),
        ("bash <<'EOF'\nlet n=${{ x }}\nEOF", Quoting.ARITHMETIC),
        ("x=$( [[ ( 1 -eq ${{ x }} ) ]] && echo y )", Quoting.ARITHMETIC),
        ("read -r -p 'name?' ${{ x }}", Quoting.NAME),
        ('[[ "${{ x }}" == main ]]', Quoting.DOUBLE),
        ('[ "${{ x }}" -gt 0 ]', Quoting.DOUBLE),  # test's -gt reads only decimal numbers
        ("read -r -p '${{ x }}' name", Quoting.SINGLE),
        ("declare -A h; h[${{ x }}]=1", Quoting.UNQUOTED),  # an associative key is a string
        ('[[ $(grep -c "${{ x }}" f) -eq 1 ]]', Quoting.DOUBLE),  # only grep reads it
        ('TAG="${{ x }}"; echo $(( ${#TAG} + 1 ))', Quoting.DOUBLE),  # only its length
        ('TAG="${{ x }}"; echo "${TAG:0:7}"', Quoting.DOUBLE),
        ('export FOO="${{ x }}"; local bar="${{ x }}"', Quoting.DOUBLE),
    ],
)
def test_the_lexer_tells_arithmetic_and_names_from_data(source: str, quoting: Quoting) -> None:
    assert {item.spot.quoting for item in prepare_script(source).expressions} == {quoting}
