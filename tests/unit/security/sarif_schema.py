"""The official SARIF 2.1.0 JSON schema, as ``make test-tools`` installs it.

It comes from npm (``@microsoft/jest-sarif``, MIT, which ships the final rtm.5 text of
the OASIS schema); a machine without it skips the schema checks saying how to get it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

SCHEMA = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "orchestrate-test-tools/node/node_modules/@microsoft/jest-sarif/lib/schemas"
    / "sarif-2.1.0-rtm.5.json"
)


def sarif_validator() -> Draft4Validator:
    if not SCHEMA.is_file():
        pytest.skip(f"the SARIF schema is not installed at {SCHEMA} (make test-tools)")
    schema: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)


def assert_valid_sarif(log: object) -> None:
    errors = sorted(sarif_validator().iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(
        f"{'/'.join(str(p) for p in error.path)}: {error.message}" for error in errors[:10]
    )
