"""Reading the outputs a ``run`` step wrote to ``$ORCHESTRATE_OUTPUT``.

The format is GitHub Actions' ``$GITHUB_OUTPUT``: ``name=value`` lines, and for values
spanning lines ``name<<DELIMITER`` … ``DELIMITER``. A later line for the same name wins.
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestrate.core.errors import ValidationFailed

MAX_OUTPUT_BYTES = 1_000_000
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def parse_outputs(text: str) -> dict[str, str]:
    """``name=value`` and ``name<<EOF`` blocks → a mapping; a malformed line is an error."""
    outputs: dict[str, str] = {}
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.strip():
            continue
        heredoc = line.find("<<")
        equals = line.find("=")
        if heredoc > 0 and (equals < 0 or heredoc < equals):
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            _check_name(name, index)
            if not delimiter:
                raise ValidationFailed(f"output line {index}: '{name}<<' needs a delimiter")
            value: list[str] = []
            while index < len(lines) and lines[index] != delimiter:
                value.append(lines[index])
                index += 1
            if index >= len(lines):
                raise ValidationFailed(
                    f"output '{name}': the delimiter '{delimiter}' never appears on a line "
                    "of its own"
                )
            index += 1
            outputs[name] = "\n".join(value)
        elif equals > 0:
            name = line[:equals]
            _check_name(name, index)
            outputs[name] = line[equals + 1 :]
        else:
            raise ValidationFailed(
                f"output line {index} is neither 'name=value' nor 'name<<DELIMITER': {line[:80]!r}"
            )
    return outputs


def read_outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    if path.stat().st_size > MAX_OUTPUT_BYTES:
        raise ValidationFailed(
            f"the step wrote more than {MAX_OUTPUT_BYTES:,} bytes of outputs; "
            "write large data to a file in the workspace and output its path"
        )
    return parse_outputs(path.read_text(encoding="utf-8", errors="replace"))


def _check_name(name: str, line: int) -> None:
    if not _NAME.match(name):
        raise ValidationFailed(f"output line {line}: {name!r} is not a valid output name")
