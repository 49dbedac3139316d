"""``${{ }}`` in a ``run:`` script reach bash as variables: a value is printed, never run.

Each case really runs bash on the prepared script, as a step would, and checks what it
printed and that the payload's command did not run.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.expressions.shell_lexer import Quoting
from orchestrate.pipelines.expressions.shell_script import prepare_script, script_environment

PAYLOADS = {
    "double-quote breakout": '"; id; touch pwned; "',
    "command substitution": "$(id; touch pwned)",
    "backticks": "`id; touch pwned`",
    "single-quote breakout": "'; id; touch pwned; '",
    "newline": "x\nid\ntouch pwned\n",
    "heredoc delimiter": "x\nEOF\nid; touch pwned\ncat <<EOF",
}
QUOTINGS = {
    "double quotes": 'echo "{expr}"',
    "single quotes": "echo '{expr}'",
    "no quotes": "echo {expr}",
}
SOURCES = {
    "a pull-request title": "trigger.pull_request.title",
    "an input": "inputs.x",
    "a step output": "needs.build.outputs.x",
    "a matrix value": "matrix.x",
}


def _context(value: str) -> dict[str, Any]:
    return {
        "trigger": {"pull_request": {"title": value}},
        "inputs": {"x": value},
        "needs": {"build": {"outputs": {"x": value}, "result": "success"}},
        "matrix": {"x": value},
    }


def _bash(source: str, context: dict[str, Any], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as a step runs its script: prepared, values in the environment."""
    script = prepare_script(source)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", **script_environment(script, source, context)}
    command = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script.text]
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("template", QUOTINGS.values(), ids=QUOTINGS.keys())
@pytest.mark.parametrize("expression", SOURCES.values(), ids=SOURCES.keys())
def test_a_payload_is_printed_literally_and_never_runs(
    payload: str, template: str, expression: str, tmp_path: Path
) -> None:
    source = template.format(expr=f"${{{{ {expression} }}}}")
    result = _bash(source, _context(payload), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == payload + "\n"
    assert "uid=" not in result.stdout
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("source", "printed"),
    [
        ("printf '%s|' ${{ inputs.x }} ${{ inputs.x }}", "{v}|{v}|"),
        ('printf "%s|" "a${{ inputs.x }}b"', "a{v}b|"),
        ("printf '%s|' 'a${{ inputs.x }}b'", "a{v}b|"),
        ("printf '%s|' $'a${{ inputs.x }}b'", "a{v}b|"),
        ('printf "%s|" "$(printf %s ${{ inputs.x }})"', "{t}|"),
        ("printf '%s|' \"`printf %s ${{ inputs.x }}`\"", "{t}|"),
        ('printf "%s|" "${UNSET:-${{ inputs.x }}}"', "{v}|"),
        ("cat <<EOF\n<${{ inputs.x }}>\nEOF", "<{v}>\n"),
        ("cat <<-EOF\n\t<${{ inputs.x }}>\n\tEOF", "<{v}>\n"),
        ('eval "printf %s ${{ inputs.x }}"', "{v}"),
        ("eval printf %s ${{ inputs.x }}", "{v}"),
        ("bash -c 'printf %s ${{ inputs.x }}'", "{v}"),
        ('sh -c "printf %s ${{ inputs.x }}"', "{v}"),
        ("bash <<EOF\nprintf %s ${{ inputs.x }}\nEOF", "{v}"),
        ('timeout 60 bash -c "printf %s ${{ inputs.x }}"', "{v}"),
        ('env X=1 sh -c "printf %s ${{ inputs.x }}"', "{v}"),
        ('find . -maxdepth 0 -exec sh -c "printf %s ${{ inputs.x }}" \\;', "{v}"),
        ("# a comment ${{ inputs.x }} 'unbalanced\nprintf %s ok", "ok"),
        ("X='${{ inputs.x }}'; printf %s \"$X\"", "{v}"),
    ],
)
@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_every_shell_context_keeps_the_value_data(
    source: str, printed: str, payload: str, tmp_path: Path
) -> None:
    result = _bash(source, _context(payload), tmp_path)
    assert result.returncode == 0, result.stderr
    # {t}: as a command substitution returns it, without trailing newlines
    assert result.stdout == printed.format(v=payload, t=payload.rstrip("\n"))
    assert not (tmp_path / "pwned").exists()


def test_a_quoted_here_document_shows_the_variable_and_runs_nothing(tmp_path: Path) -> None:
    source = "cat <<'EOF'\n${{ inputs.x }}\nEOF"
    result = _bash(source, _context("$(touch pwned)"), tmp_path)
    assert result.stdout == "${ORCHESTRATE_EXPR_1}\n"
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("value", ["3", "-12", " 7 "])
def test_an_integer_may_be_used_in_arithmetic(value: str, tmp_path: Path) -> None:
    result = _bash("echo $(( ${{ inputs.x }} + 1 ))", _context(value), tmp_path)
    assert result.stdout == f"{int(value) + 1}\n"


@pytest.mark.parametrize("value", ["a[$(touch pwned)]", "1+1", "x"])
def test_anything_but_an_integer_in_arithmetic_is_refused(value: str) -> None:
    source = "(( n = ${{ inputs.x }} ))"
    with pytest.raises(ExpressionError, match="must be an integer") as raised:
        script_environment(prepare_script(source), source, _context(value))
    assert raised.value.offset == source.index("inputs.x")


def test_each_distinct_expression_gets_one_variable() -> None:
    script = prepare_script('echo "${{ inputs.x }}" ${{ inputs.x }} ${{ matrix.x }}')
    assert script.text == (
        'echo "${ORCHESTRATE_EXPR_1}" "${ORCHESTRATE_EXPR_1}" "${ORCHESTRATE_EXPR_2}"'
    )
    assert script.variables == {"ORCHESTRATE_EXPR_1": "inputs.x", "ORCHESTRATE_EXPR_2": "matrix.x"}


@pytest.mark.parametrize(
    ("source", "quoting", "is_code"),
    [
        ("echo ${{ x }}", Quoting.UNQUOTED, False),
        ('echo "${{ x }}"', Quoting.DOUBLE, False),
        ("echo '${{ x }}'", Quoting.SINGLE, False),
        ("echo $'${{ x }}'", Quoting.ANSI_C, False),
        ("echo 'it''s' \"${{ x }}\"", Quoting.DOUBLE, False),
        ('echo "\\"" ${{ x }}', Quoting.UNQUOTED, False),
        ("echo \\' ${{ x }}", Quoting.UNQUOTED, False),
        ("cat <<EOF\n${{ x }}\nEOF", Quoting.HEREDOC, False),
        ("cat <<'EOF'\n${{ x }}\nEOF", Quoting.QUOTED_HEREDOC, False),
        ('cat <<"EOF"\n${{ x }}\nEOF', Quoting.QUOTED_HEREDOC, False),
        ("cat <<EOF\nEOF\necho ${{ x }}", Quoting.UNQUOTED, False),
        ("echo $(( ${{ x }} ))", Quoting.ARITHMETIC, False),
        ("# ${{ x }}", Quoting.COMMENT, False),
        ("echo a#${{ x }}", Quoting.UNQUOTED, False),
        ("eval echo ${{ x }}", Quoting.UNQUOTED, True),
        ("if eval 'test ${{ x }}'; then :; fi", Quoting.SINGLE, True),
        ('bash -ec "echo ${{ x }}"', Quoting.DOUBLE, True),
        ("echo eval ${{ x }}", Quoting.UNQUOTED, False),
        ("bash script.sh ${{ x }}", Quoting.UNQUOTED, False),
    ],
)
def test_the_lexer_finds_the_quoting_around_each_expression(
    source: str, quoting: Quoting, is_code: bool
) -> None:
    (item,) = prepare_script(source).expressions
    assert (item.spot.quoting, item.spot.is_code) == (quoting, is_code)


def test_a_nul_character_fails_the_step_instead_of_the_worker() -> None:
    source = "echo ${{ inputs.x }}"
    with pytest.raises(ExpressionError, match="NUL"):
        script_environment(prepare_script(source), source, _context("a\x00b"))


@pytest.mark.parametrize(
    "nesting",
    ["$(", "${x:-", '"$("', "$(( 1 + "],
    ids=["command substitution", "parameter default", "quoted substitution", "arithmetic"],
)
def test_a_script_nested_thousands_deep_is_refused_not_a_crash(nesting: str) -> None:
    source = nesting * 3000 + "${{ inputs.x }}"
    with pytest.raises(ExpressionError, match=r"nests .* too deeply") as raised:
        prepare_script(source)
    assert raised.value.offset == source.index("${{")


_TEXT = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=["Cs"]))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_TEXT, template=st.sampled_from(list(QUOTINGS.values())))
def test_any_value_in_any_quoting_is_printed_as_it_is(
    value: str, template: str, tmp_path: Path
) -> None:
    source = template.format(expr="${{ inputs.x }}").replace("echo", "printf '%s'", 1)
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", prepare_script(source).text],
        env={"ORCHESTRATE_EXPR_1": value, "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.stdout == value.encode("utf-8", "surrogateescape")
