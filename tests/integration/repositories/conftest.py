"""Registry tests: the CLI fixture, and real git repositories (``git_repositories``)."""

from __future__ import annotations

from tests.integration.cli.support import cli

__all__ = ["cli"]
