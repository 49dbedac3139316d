"""A ``run:`` script whose ``${{ }}`` reach bash as environment variables, never as text.

``prepare_script`` rewrites each ``${{ expr }}`` into a reference to a variable
``ORCHESTRATE_EXPR_<n>`` (one per distinct expression), spelled for the quoting around
it (``shell_lexer``) so the author's intent survives: ``echo "${{ x }}"`` becomes
``echo "${ORCHESTRATE_EXPR_1}"``, ``echo '${{ x }}'`` becomes
``echo ''"${ORCHESTRATE_EXPR_1}"''``. ``script_environment`` evaluates the expressions
into those variables. A value can then at most be split into words where the author
asked the shell to read it twice (``eval``), never be parsed as shell syntax.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from orchestrate.pipelines.expressions.errors import ExpressionError
from orchestrate.pipelines.expressions.parser import parse
from orchestrate.pipelines.expressions.shell_lexer import Quoting, Spot, classify
from orchestrate.pipelines.expressions.templates import expression_spans
from orchestrate.pipelines.expressions.values import to_string

VARIABLE_PREFIX = "ORCHESTRATE_EXPR_"

# How a reference to $V is written at each spot. The shell expands it once, as data.
_ONCE: dict[Quoting, str] = {
    Quoting.UNQUOTED: '"${{{v}}}"',
    Quoting.DOUBLE: "${{{v}}}",
    Quoting.SINGLE: "'\"${{{v}}}\"'",  # close the quotes, insert, reopen
    Quoting.ANSI_C: "'\"${{{v}}}\"$'",
    Quoting.HEREDOC: "${{{v}}}",
    Quoting.QUOTED_HEREDOC: "${{{v}}}",  # stays text: the shell expands nothing here
    Quoting.ARITHMETIC: "${{{v}}}",  # the value is checked to be an integer
    Quoting.COMMENT: "${{{v}}}",
}
# Where the text is read twice (``eval``, ``sh -c``, ``bash <<EOF``): the first reading
# must leave the reference ``"${V}"`` for the second one to expand.
_TWICE: dict[Quoting, str] = {
    Quoting.UNQUOTED: "'\"${{{v}}}\"'",
    Quoting.DOUBLE: '\\"\\${{{v}}}\\"',
    Quoting.SINGLE: '"${{{v}}}"',
    Quoting.ANSI_C: '"${{{v}}}"',
    Quoting.HEREDOC: '"\\${{{v}}}"',
    Quoting.QUOTED_HEREDOC: '"${{{v}}}"',
    Quoting.ARITHMETIC: "${{{v}}}",
    Quoting.COMMENT: "${{{v}}}",
}
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class ScriptExpression:
    """One ``${{ }}`` of the script: what it reads and where, and the variable it became."""

    variable: str
    expression: str
    offset: int
    """Of the expression (after ``${{``) in the original script."""
    spot: Spot


@dataclass(frozen=True)
class ShellScript:
    """The script as bash receives it, and the expressions its variables hold."""

    text: str
    expressions: tuple[ScriptExpression, ...]

    @property
    def variables(self) -> dict[str, str]:
        """Variable name → the expression it holds, in order of first use."""
        return {item.variable: item.expression for item in self.expressions}


def prepare_script(source: str) -> ShellScript:
    """``source`` with every ``${{ }}`` replaced by a variable reference fitting its quoting."""
    spans = expression_spans(source)
    if not spans:
        return ShellScript(source, ())
    spots = classify(source, [(start, end) for start, end, _, _ in spans])
    names: dict[str, str] = {}
    parts: list[str] = []
    found: list[ScriptExpression] = []
    position = 0
    for (start, end, offset, inner), spot in zip(spans, spots, strict=True):
        variable = names.setdefault(inner, f"{VARIABLE_PREFIX}{len(names) + 1}")
        table = _TWICE if spot.is_code else _ONCE
        parts += [source[position:start], table[spot.quoting].format(v=variable)]
        found.append(ScriptExpression(variable, inner, offset, spot))
        position = end
    parts.append(source[position:])
    return ShellScript("".join(parts), tuple(found))


def script_environment(
    script: ShellScript, source: str, context: Mapping[str, Any]
) -> dict[str, str]:
    """The value of each variable of ``script`` (``source`` locates errors in the script)."""
    values: dict[str, str] = {}
    for item in script.expressions:
        try:
            value = to_string(parse(item.expression).evaluate(context))
        except ExpressionError as error:
            raise error.relocated(source, item.offset) from None
        if item.spot.quoting is Quoting.ARITHMETIC and not _INTEGER.fullmatch(value.strip()):
            # bash evaluates text in arithmetic as an expression: `a[$(id)]` would run.
            raise ExpressionError(
                f"the value of '{item.expression}' is used in shell arithmetic and must "
                "be an integer",
                expression=source,
                offset=item.offset,
                hint="check or convert it in an earlier step",
            )
        if "\x00" in value:
            raise ExpressionError(
                f"the value of '{item.expression}' holds a NUL character, which no "
                "environment variable can carry",
                expression=source,
                offset=item.offset,
            )
        values[item.variable] = value
    return values
