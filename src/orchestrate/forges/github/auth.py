"""Who Orchestrate is on GitHub: a token, or a GitHub App acting through an installation.

Where credentials come from, first match wins:

1. a GitHub App, when ``ORCHESTRATE_GITHUB_APP_ID`` is set: its private key from
   ``ORCHESTRATE_GITHUB_APP_PRIVATE_KEY`` or the stored secret ``GITHUB_APP_PRIVATE_KEY``;
   the installation from ``ORCHESTRATE_GITHUB_APP_INSTALLATION_ID``, else looked up for
   each repository's owner (``GET /repos/{owner}/{repo}/installation``);
2. ``ORCHESTRATE_GITHUB_TOKEN``;
3. the stored secret ``GITHUB_TOKEN``.

A setting beats the secret store, as an environment variable beats a stored
credential for ``gh``: whoever starts the process with one means it. githubkit mints the
installation tokens and keeps them until a minute before they expire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from githubkit import AppAuthStrategy, AppInstallationAuthStrategy, TokenAuthStrategy

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings

STORED_TOKEN = "GITHUB_TOKEN"  # noqa: S105 - the name of a secret-store entry
STORED_APP_KEY = "GITHUB_APP_PRIVATE_KEY"
STORED_NAMES = (STORED_TOKEN, STORED_APP_KEY)
"""The secret-store entries GitHub credentials may come from."""


@dataclass(frozen=True)
class TokenCredentials:
    """A personal access token, fine-grained token or any token GitHub accepts."""

    token: str = field(repr=False)
    source: str

    def strategy(self) -> TokenAuthStrategy:
        return TokenAuthStrategy(self.token)


@dataclass(frozen=True)
class AppCredentials:
    """A GitHub App; ``installation_id`` None: look the installation up per repository."""

    app_id: str
    private_key: str = field(repr=False)
    installation_id: int | None
    source: str

    def app_strategy(self) -> AppAuthStrategy:
        return AppAuthStrategy(self.app_id, self.private_key)

    def installation_strategy(self, installation_id: int) -> AppInstallationAuthStrategy:
        return AppInstallationAuthStrategy(self.app_id, self.private_key, installation_id)


GitHubCredentials = TokenCredentials | AppCredentials


def resolve_credentials(settings: Settings, stored: Mapping[str, str]) -> GitHubCredentials:
    """The credentials to use, from ``settings`` and the ``stored`` secrets by name.

    Raises ``ConfigurationError`` saying what to set when there are none.
    """
    if settings.github_app_id:
        return _app_credentials(settings, stored)
    if settings.github_token is not None and settings.github_token.get_secret_value():
        return TokenCredentials(
            settings.github_token.get_secret_value(), "ORCHESTRATE_GITHUB_TOKEN"
        )
    if stored.get(STORED_TOKEN):
        return TokenCredentials(stored[STORED_TOKEN], f"secret {STORED_TOKEN}")
    raise ConfigurationError(
        "No GitHub credentials: set ORCHESTRATE_GITHUB_TOKEN, store a secret "
        f"{STORED_TOKEN} (orchestrate secret set {STORED_TOKEN}), or configure a GitHub "
        "App (ORCHESTRATE_GITHUB_APP_ID and its private key); see docs/forges.md"
    )


def _app_credentials(settings: Settings, stored: Mapping[str, str]) -> AppCredentials:
    app_id = str(settings.github_app_id)
    if settings.github_app_private_key is not None:
        key = settings.github_app_private_key.get_secret_value()
        source = "ORCHESTRATE_GITHUB_APP_PRIVATE_KEY"
    else:
        key = stored.get(STORED_APP_KEY, "")
        source = f"secret {STORED_APP_KEY}"
    if "PRIVATE KEY" not in key:
        raise ConfigurationError(
            f"GitHub App {app_id} has no private key: set ORCHESTRATE_GITHUB_APP_PRIVATE_KEY "
            f"or store the PEM as the secret {STORED_APP_KEY} (see docs/forges.md)"
        )
    return AppCredentials(app_id, key, settings.github_app_installation_id, source)
