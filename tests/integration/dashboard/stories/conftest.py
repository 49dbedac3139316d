"""The fixtures of the story and epic pages' tests: a registered repository whose remote
a fake GitHub serves, and provider credentials for the scripted models that play the
agents (the epic runs' own fixtures, so the pages are tested on the same setup)."""

from tests.integration.autonomy.conftest import on_github
from tests.integration.delivery.conftest import (
    _follow_agents,
    _provider_credentials,
    github,
    project,
)

__all__ = ["_follow_agents", "_provider_credentials", "github", "on_github", "project"]
