"""A ``run:`` script whose ``${{ }}`` reach bash as environment variables, never as text.

``prepare_script`` rewrites each ``${{ expr }}`` into a reference to a variable
``ORCHESTRATE_EXPR_<n>`` (one per distinct expression), spelled for the quoting around
it (``shell_lexer``) so the author's intent survives: ``echo "${{ x }}"`` becomes
``echo "${ORCHESTRATE_EXPR_1}"``, ``echo '${{ x }}'`` becomes
``echo ''"${ORCHESTRATE_EXPR_1}"''``. ``script_environment`` evaluates the expressions
into those variables. A value can then at most be split into words where the author
asked the shell to read it twice (``eval``), never be parsed as shell syntax.

Two places still need more than a reference. Where bash evaluates the value as
arithmetic or as a variable name (``[[ ${{ x }} -eq 1 ]]``, ``read ${{ x }}``), it
evaluates array subscripts too, so ``script_environment`` accepts only an integer or a
name there. And text read as a script three times over cannot carry a reference at
all: ``prepare_script`` refuses it.
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
    Quoting.NAME: '"${{{v}}}"',  # the value is checked to be a name
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
    Quoting.NAME: "'\"${{{v}}}\"'",
    Quoting.COMMENT: "${{{v}}}",
}
# bash evaluates text in arithmetic and in variable names as an expression: a subscript
# in ``a[$(id)]`` runs ``id``. There a value must be an integer, or a name.
_CHECKS: dict[Quoting, tuple[re.Pattern[str], str]] = {
    Quoting.ARITHMETIC: (re.compile(r"\s*[+-]?[0-9]+\s*"), "an integer"),
    Quoting.NAME: (re.compile(r"[A-Za-z0-9_]+"), "a variable name (letters, digits, _)"),
}
_READINGS = {Quoting.ARITHMETIC: "in shell arithmetic", Quoting.NAME: "as a shell variable name"}


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
    try:
        spots = classify(source, [(start, end) for start, end, _, _ in spans])
    except RecursionError:
        # Thousands of nested $( ) or ${ }: no script needs them, and bash would choke too.
        raise ExpressionError(
            "the script nests $( ), ${ }, $(( )) or quotes too deeply to be read",
            expression=source,
            offset=spans[0][0],
            hint="nest fewer levels; a function or a variable set under env: reads better",
        ) from None
    names: dict[str, str] = {}
    parts: list[str] = []
    found: list[ScriptExpression] = []
    position = 0
    for (start, end, offset, inner), spot in zip(spans, spots, strict=True):
        variable = names.setdefault(inner, f"{VARIABLE_PREFIX}{len(names) + 1}")
        if spot.problem is not None:
            raise ExpressionError(
                f"'{inner}' {spot.problem}",
                expression=source,
                offset=offset,
                hint="name the value under env: and read that variable in the inner script",
            )
        table = _TWICE if spot.is_code else _ONCE
        parts += [source[position:start], table[spot.written].format(v=variable)]
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
        _check(item, value, source)
        if "\x00" in value:
            raise ExpressionError(
                f"the value of '{item.expression}' holds a NUL character, which no "
                "environment variable can carry",
                expression=source,
                offset=item.offset,
            )
        values[item.variable] = value
    return values


def _check(item: ScriptExpression, value: str, source: str) -> None:
    """Refuse a value bash would evaluate where it reads an integer or a name."""
    check = _CHECKS.get(item.spot.quoting)
    if check is not None and not check[0].fullmatch(value):
        raise ExpressionError(
            f"the value of '{item.expression}' is used {_READINGS[item.spot.quoting]} "
            f"and must be {check[1]}",
            expression=source,
            offset=item.offset,
            hint="check or convert it in an earlier step",
        )
