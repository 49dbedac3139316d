"""Agents that spend: the agent tests' repository and credentials, and a priced model."""

from __future__ import annotations

from tests.integration.agents.conftest import _provider_credentials, repo

__all__ = ["_provider_credentials", "repo"]
