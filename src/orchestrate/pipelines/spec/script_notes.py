"""Notes for ``pipeline validate``: where a ``run:`` script reads differently than it looks.

Every ``${{ }}`` of a ``run:`` script reaches bash as an environment variable
(``expressions.shell_script``). Inside double quotes or an unquoted here-document that
reads exactly as before; elsewhere it does not, and the author should know: an
unquoted ``${{ }}`` is now one word, a single-quoted one is spliced out of its quotes,
a quoted here-document shows the variable's name, ``eval`` receives a reference instead
of text. These are not problems (the pipeline is valid); they never fail validation.
"""

from __future__ import annotations

from orchestrate.pipelines.expressions import ExpressionError
from orchestrate.pipelines.expressions.shell_lexer import Quoting
from orchestrate.pipelines.expressions.shell_script import ScriptExpression, prepare_script
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.spec.positions import Path, SourceMap
from orchestrate.pipelines.spec.problems import SpecProblem

_TWICE_HINT = (
    "the inner script gets a reference to the variable, never the value as code; "
    "quotes you write inside it apply to that reference"
)
_QUOTED_HEREDOC_HINT = (
    "use an unquoted delimiter (<<EOF) to get the value, or read the variable from the "
    "environment in the program that reads the document"
)


def script_notes(spec: PipelineSpec, where: SourceMap) -> list[SpecProblem]:
    """One note or warning per ``${{ }}`` of a ``run:`` whose reading changes."""
    notes: list[SpecProblem] = []
    for index, step in enumerate(spec.steps):
        if step.run is None:
            continue
        try:
            script = prepare_script(step.run)
        except ExpressionError:
            continue  # a problem of the expression checks, so no notes are asked for
        path: Path = ("steps", index, "run")
        for item in script.expressions:
            explained = _explain(item)
            if explained is not None:
                message, hint = explained
                text = f"step '{step.id}', 'run': {message}"
                notes.append(where.problem(path, text, hint, offset=item.offset))
    return sorted(notes, key=lambda note: (note.line, note.column))


def _explain(item: ScriptExpression) -> tuple[str, str | None] | None:
    """(message starting with 'note:' or 'warning:', hint) for one expression, if any."""
    shown = f"${{{{ {item.expression} }}}}"
    variable = f"${item.variable}"
    quoting = item.spot.quoting
    if item.spot.is_code and quoting is not Quoting.COMMENT:
        return (
            f"warning: {shown} is read twice here (eval, sh -c, text piped into a "
            f'shell, or a shell reading a here-document); the inner script receives "{variable}"',
            _TWICE_HINT,
        )
    if quoting is Quoting.UNQUOTED:
        return (
            f'note: {shown} is not quoted; it reaches the script as "{variable}", one '
            "word, without word splitting or globbing",
            "to split it into words, set it under env: and use that variable unquoted",
        )
    if quoting in (Quoting.SINGLE, Quoting.ANSI_C):
        return (
            f"note: {shown} is inside {quoting.value}; the quotes are closed around it "
            f"('\"{variable}\"') so its value appears there, as text",
            None,
        )
    if quoting is Quoting.QUOTED_HEREDOC:
        return (
            f"warning: {shown} is inside a quoted here-document, where the shell expands "
            f"nothing: the text {variable} appears there, not the value",
            _QUOTED_HEREDOC_HINT,
        )
    if quoting is Quoting.ARITHMETIC:
        return (
            f"note: {shown} is used in shell arithmetic; the step fails unless its value "
            "is an integer",
            None,
        )
    return None
