"""Building a ``GitLabClient`` from settings, and finding the token it acts with."""

from __future__ import annotations

import gitlab

from orchestrate import __version__
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.forges.client import CallObserver
from orchestrate.forges.gitlab._transport import ObservedAdapter, RetryPolicy, observed_session
from orchestrate.forges.gitlab.client import GitLabClient
from orchestrate.secrets import service as secrets

STORED_TOKEN = "GITLAB_TOKEN"  # noqa: S105 - a secret's name
TOKEN_SETTING = "ORCHESTRATE_GITLAB_TOKEN"  # noqa: S105 - a setting's name


def gitlab_client(
    settings: Settings,
    token: str,
    observer: CallObserver,
    *,
    policy: RetryPolicy | None = None,
    timeout_seconds: float = 30.0,
    rebase_poll_seconds: float = 1.0,
) -> GitLabClient:
    """A client of ``ORCHESTRATE_GITLAB_URL`` acting with ``token``, reporting every
    HTTP call to ``observer``. ``policy`` bounds retries and rate-limit waits (tests
    make them short)."""
    adapter = ObservedAdapter(policy or RetryPolicy())
    api = gitlab.Gitlab(
        settings.gitlab_url,
        private_token=token,
        timeout=timeout_seconds,
        per_page=100,
        user_agent=f"orchestrate/{__version__}",
        # Retries are the adapter's (bounded, idempotent-aware); python-gitlab's own
        # would retry POSTs on 500 and sleep as long as any Retry-After says.
        retry_transient_errors=False,
        session=observed_session(adapter),
    )
    return GitLabClient(api, adapter, observer, rebase_poll_seconds=rebase_poll_seconds)


async def gitlab_token(uow: UnitOfWork, settings: Settings) -> str:
    """``ORCHESTRATE_GITLAB_TOKEN`` when set, else the stored secret ``GITLAB_TOKEN``.

    The setting wins because it is the more explicit of the two (it names this process's
    configuration); the store is the place to keep it (encrypted, rotatable, masked).
    """
    if settings.gitlab_token is not None and settings.gitlab_token.get_secret_value():
        return settings.gitlab_token.get_secret_value()
    stored = await secrets.get_secret_values(uow, settings, [STORED_TOKEN])
    if token := stored.get(STORED_TOKEN):
        return token
    raise ConfigurationError(
        f"No GitLab token: set {TOKEN_SETTING}, or store one with "
        f"`orchestrate secret set {STORED_TOKEN}` (a personal, group or project access "
        f"token with the api scope)"
    )
