"""How the GitHub adapter talks to GitHub: githubkit clients, installations, pages, errors.

One ``GitHubSession`` holds the githubkit client of a token, or one per installation of
a GitHub App (looked up for each owner and kept), all sending through the adapter's one
``ObservedTransport``. githubkit's own retries and HTTP cache are off: waits must be
ours to bound and to show, and a cached ``mergeable`` would be stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from githubkit import GitHub, Response
from githubkit.auth import BaseAuthStrategy

from orchestrate import __version__
from orchestrate.core.errors import ValidationFailed
from orchestrate.forges.client import ForgeError
from orchestrate.forges.github import convert
from orchestrate.forges.github.auth import AppCredentials, GitHubCredentials
from orchestrate.forges.github.convert import items, mapping
from orchestrate.forges.github.errors import translated
from orchestrate.forges.github.transport import ObservedTransport

PER_PAGE = 100
MAX_PAGES = 20
"""Pages read at most of one list: 2,000 items (comments, reviews, checks)."""

Fetch = Callable[[GitHub[Any]], Awaitable[Response[Any, Any]]]
"""One githubkit call, given the client to make it with."""


class GitHubSession:
    def __init__(
        self,
        credentials: GitHubCredentials,
        *,
        api_url: str,
        timeout: float,
        transport: ObservedTransport,
    ) -> None:
        self._credentials = credentials
        self._api_url = api_url
        self._timeout = timeout
        self._transport = transport
        self._installations: dict[str, GitHub[Any]] = {}
        self._lock = asyncio.Lock()
        self._shared: GitHub[Any] | None = None
        self._login: str | None = None
        if not isinstance(credentials, AppCredentials):
            self._shared = self._github(credentials.strategy())
        elif credentials.installation_id is not None:
            self._shared = self._github(
                credentials.installation_strategy(credentials.installation_id)
            )

    async def close(self) -> None:
        await self._transport.close()

    def _github(self, auth: BaseAuthStrategy) -> GitHub[Any]:
        return GitHub(
            auth,
            base_url=self._api_url,
            user_agent=f"orchestrate/{__version__}",
            timeout=self._timeout,
            async_transport=self._transport,
            http_cache=False,
            auto_retry=False,
        )

    async def client_for(self, repository: str) -> GitHub[Any]:
        if self._shared is not None:
            return self._shared
        credentials = self._credentials
        assert isinstance(credentials, AppCredentials)  # the shared client serves tokens
        owner, name = split(repository)
        async with self._lock:
            known = self._installations.get(owner.lower())
            if known is not None:
                return known
            app = self._github(credentials.app_strategy())
            with translated(f"finding the GitHub App installation for {repository}"):
                response = await app.rest.apps.async_get_repo_installation(owner, name)
            installation_id = convert.integer(mapping(response.json()).get("id"))
            if installation_id is None:
                raise ForgeError(f"GitHub named no installation of the app for {repository}")
            github = self._github(credentials.installation_strategy(installation_id))
            self._installations[owner.lower()] = github
            return github

    async def login(self) -> str:
        """Who these credentials act as: the token's user, or an App's bot
        (``<slug>[bot]``, as GitHub names the author of what an installation writes)."""
        if self._login is None:
            credentials = self._credentials
            if isinstance(credentials, AppCredentials):
                app = self._github(credentials.app_strategy())
                with translated("reading the GitHub App"):
                    found = await app.rest.apps.async_get_authenticated()
                slug = convert.text(mapping(found.json()).get("slug"))
                self._login = f"{slug}[bot]" if slug else ""
            else:
                github = self._shared
                assert github is not None  # tokens always have the shared client
                with translated("reading the authenticated user"):
                    response = await github.rest.users.async_get_authenticated()
                self._login = convert.text(mapping(response.json()).get("login"))
        return self._login

    async def call(
        self, repository: str, what: str, fetch: Fetch, *, refusals: bool = False
    ) -> Response[Any, Any]:
        github = await self.client_for(repository)
        with translated(what, refusals=refusals):
            return await fetch(github)

    async def pages(
        self,
        repository: str,
        what: str,
        page: Callable[[int], Fetch],
        *,
        key: str | None = None,
    ) -> list[Any]:
        collected: list[Any] = []
        for index in range(1, MAX_PAGES + 1):
            response = await self.call(repository, what, page(index))
            body = response.json()
            batch = items(body if key is None else mapping(body).get(key))
            collected.extend(batch)
            if len(batch) < PER_PAGE:
                break
        return collected

    async def graphql(
        self, repository: str, what: str, query: str, variables: dict[str, Any]
    ) -> dict[str, Any]:
        github = await self.client_for(repository)
        with translated(what):
            return await github.async_graphql(query, variables)


def split(repository: str) -> tuple[str, str]:
    """``owner/name`` into its two parts; anything else is refused before any call."""
    owner, _, name = repository.partition("/")
    if not owner or not name or "/" in name or len(repository) > 200:
        raise ValidationFailed(
            f"A GitHub repository is named owner/name, not {repository[:200]!r}", field="repository"
        )
    return owner, name
