"""Text a shell reads as its script, from standard input too, gets the ``eval`` treatment.

``echo "${{ x }}" | sh`` makes the value code, as ``eval`` would: the text piped (or fed
as a here-string, a here-document, a process substitution) must carry a reference the
inner shell expands, never the value. Text read as code three times cannot carry one
and is refused before the step starts. Each case runs bash with hostile values.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.expressions.shell_script import prepare_script

from .shell_runs import PAYLOADS, run_step

PRINT = "printf %s ${{ inputs.x }}"
READ_AS_CODE = {
    "piped to sh, double quotes": f'echo "{PRINT}" | sh',
    "piped to bash, single quotes": f"echo '{PRINT}' | bash",
    "piped to bash, no quotes": f"echo {PRINT} | bash",
    "piped to dash": f'echo "{PRINT}" | dash',
    "piped to sh -s": f'printf "%s\\n" "{PRINT}" | sh -s -- arg',
    "piped to bash -e -o pipefail": f'echo "{PRINT}" | bash -e -o pipefail',
    "piped to a shell behind timeout": f'echo "{PRINT}" | timeout 60 bash',
    "piped to bash with its output redirected": f'echo "{PRINT}" | bash > out; cat out',
    "piped to source /dev/stdin": f'echo "{PRINT}" | source /dev/stdin',
    "piped to . /dev/stdin": f"echo '{PRINT}' | . /dev/stdin",
    "a pipe on two lines": f'echo "{PRINT}" |\n  bash',
    "two stages before the shell": f'echo "{PRINT}" | cat | bash',
    "a group piped to bash": f'{{ echo "{PRINT}"; }} | bash',
    "a loop piped to bash": f'for i in 1; do echo "{PRINT}"; done | bash',
    "a subshell piped to sh": f'(echo "{PRINT}") | sh',
    "a here-string to bash, double quotes": f'bash <<< "{PRINT}"',
    "a here-string to bash, single quotes": f"bash <<< '{PRINT}'",
    "a here-document to sh": f"sh <<EOF\n{PRINT}\nEOF",
    "a here-document piped to bash": f"cat <<EOF | bash\n{PRINT}\nEOF",
    "a quoted here-document piped to bash": f"cat <<'EOF' | bash\n{PRINT}\nEOF",
    "a process substitution to bash": f'bash < <(echo "{PRINT}")',
    "a process substitution sourced": f'source <(echo "{PRINT}")',
    "the output of $( ) given to eval": f'eval "$(echo "{PRINT}")"',
    "a trap": f"trap '{PRINT}' EXIT",
    "an array value declare re-reads": 'declare -a a="(${{ inputs.x }})"; printf %s "${a[0]}"',
    "an array value local re-reads": "f() { local -a a='(${{ inputs.x }})'; printf %s \"$a\"; }; f",
    "xargs pasting its input into sh -c": f'printf %s "{PRINT}" | xargs -0 -I{{}} sh -c {{}}',
}
STAYS_DATA = {
    "piped to cat": 'printf %s "${{ inputs.x }}" | cat',
    "piped to bash -c": "printf %s \"${{ inputs.x }}\" | bash -c 'cat'",
    "piped to a script file": 'echo cat > s.sh; printf %s "${{ inputs.x }}" | bash s.sh',
    "a later pipeline into bash": 'printf %s "${{ inputs.x }}"; echo true | bash',
    "after && ": 'printf %s "${{ inputs.x }}" && echo true | sh',
    "a here-string to cat": 'cat <<< "${{ inputs.x }}" | head -c -1',
}
NESTED_CODE = {
    "eval inside eval": 'eval "eval \\"printf %s ${{ inputs.x }}\\""',
    "two shells in a row": f'echo "echo {PRINT}" | bash | bash',
    "eval inside bash -c": "bash -c 'eval \"printf %s ${{ inputs.x }}\"'",
    "bash -c piped to sh": 'bash -c "echo printf %s ${{ inputs.x }}" | sh',
    "a pipe inside the script of bash -c": "bash -c 'echo ${{ inputs.x }} | sh'",
}


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("source", READ_AS_CODE.values(), ids=READ_AS_CODE.keys())
def test_text_a_shell_reads_as_code_carries_a_reference_not_the_value(
    source: str, payload: str, tmp_path: Path
) -> None:
    run = run_step(source, payload, tmp_path)
    assert run.refused is None
    assert (run.returncode, run.stdout) == (0, payload)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
@pytest.mark.parametrize("source", STAYS_DATA.values(), ids=STAYS_DATA.keys())
def test_text_no_shell_reads_as_code_stays_the_value(
    source: str, payload: str, tmp_path: Path
) -> None:
    run = run_step(source, payload, tmp_path)
    assert (run.returncode, run.stdout) == (0, payload)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("source", NESTED_CODE.values(), ids=NESTED_CODE.keys())
def test_text_read_as_code_three_times_is_refused_before_the_step_starts(
    source: str, tmp_path: Path
) -> None:
    with pytest.raises(ExpressionError, match="read as shell code more than twice") as raised:
        prepare_script(source)
    assert raised.value.offset == source.index("inputs.x")
    assert run_step(source, "$(touch pwned)", tmp_path).refused is not None
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("shell", ["zsh", "ksh", "mksh", "busybox sh"])
def test_every_shell_reading_standard_input_gets_the_reference(shell: str) -> None:
    (item,) = prepare_script(f'echo "{PRINT}" | {shell}').expressions
    assert item.spot.is_code


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_a_value_piped_to_zsh_is_printed_not_run(tmp_path: Path) -> None:
    payload = PAYLOADS["command substitution"]
    run = run_step(f'echo "{PRINT}" | zsh', payload, tmp_path)
    assert run.stdout == payload
    assert not (tmp_path / "pwned").exists()
