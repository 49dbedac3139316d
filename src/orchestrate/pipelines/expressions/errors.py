"""The one error the expression engine raises, located precisely enough to underline."""

from __future__ import annotations

from orchestrate.core.errors import ValidationFailed


class ExpressionError(ValidationFailed):
    """An expression that cannot be parsed or evaluated.

    ``offset`` is 0-based and counts characters of ``expression``, the very string the
    caller passed in (a bare expression, an ``if:`` value or a ``${{ }}`` template), so a
    validator can add it to the position of that string in the YAML file. The message
    already ends with the hint, if there is one; ``hint`` repeats it for the API.
    """

    title = "Invalid expression"

    def __init__(
        self, message: str, *, expression: str, offset: int, hint: str | None = None
    ) -> None:
        full_message = f"{message}. {hint}" if hint else message
        super().__init__(full_message, expression=expression, offset=offset, hint=hint)
        self.problem = message
        self.expression = expression
        self.offset = offset
        self.hint = hint

    def relocated(self, source: str, base: int) -> ExpressionError:
        """The same problem, reported in ``source``, where the failing text starts at ``base``."""
        return ExpressionError(
            self.problem, expression=source, offset=base + self.offset, hint=self.hint
        )


def describe_location(problem: str, source: str, offset: int) -> str:
    """``problem at column N of 'source'``: the form every expression message takes."""
    return f"{problem} at column {offset + 1} of '{source}'"
