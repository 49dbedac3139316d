"""Fixtures of the retention tests: a runtime on a frozen clock and row builders."""

from __future__ import annotations

import pytest

from orchestrate.core.runtime import Runtime
from tests.integration.retention.rows import Rows


@pytest.fixture
def rows(frozen_runtime: Runtime) -> Rows:
    return Rows(frozen_runtime)
