"""The REST API of the fake GitHub: dispatch to the routes of ``_github_pulls`` and
``_github_reviews``; anything no route serves is GitHub's 404, never a guess."""

from __future__ import annotations

from orchestrate.testing import (
    _github_actions,
    _github_code_scanning,
    _github_pulls,
    _github_reviews,
)
from orchestrate.testing._github_http import ROUTES, Answer, RestRequest, error
from orchestrate.testing._github_reviews import add_review
from orchestrate.testing._github_state import GitHubState

ROUTE_MODULES = (_github_actions, _github_code_scanning, _github_pulls, _github_reviews)
"""Imported for the routes they register."""

__all__ = ["Answer", "RestRequest", "add_review", "answer_rest", "error"]


def answer_rest(state: GitHubState, request: RestRequest) -> Answer:
    """Route a request for ``/repos/{owner}/{repo}/…``; anything else is 404."""
    for method, pattern, handler in ROUTES:
        match = pattern.match(request.path)
        if match is None or method != request.method:
            continue
        repository = state.repository(f"{match['owner']}/{match['repo']}")
        if repository is None:
            return error(404, "Not Found")
        groups = [
            value for name, value in match.groupdict().items() if name not in ("owner", "repo")
        ]
        return handler(state, request, repository, groups)
    return error(404, "Not Found")
