"""Secrets tests: the process-wide masker and loaded values are reset around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrate.secrets.loaded import forget_loaded
from tests.integration.cli.support import cli

__all__ = ["cli"]


@pytest.fixture(autouse=True)
def _forget_loaded_secrets() -> Iterator[None]:
    forget_loaded()
    yield
    forget_loaded()
