"""The GitLab adapter: ``ForgeClient`` with python-gitlab (``client``), built from
settings and a token by ``gitlab_client``; the token comes from ``gitlab_token``.
``is_recorded_by_gitlab`` tells a review GitLab vouches for from a note's say-so."""

from orchestrate.forges.gitlab._reviews import is_recorded_by_gitlab
from orchestrate.forges.gitlab._transport import RetryPolicy
from orchestrate.forges.gitlab.client import GitLabClient
from orchestrate.forges.gitlab.factory import gitlab_client, gitlab_token

__all__ = ["GitLabClient", "RetryPolicy", "gitlab_client", "gitlab_token", "is_recorded_by_gitlab"]
