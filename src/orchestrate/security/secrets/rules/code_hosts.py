"""Forges, package registries and container registries: tokens that can push code."""

from __future__ import annotations

from orchestrate.security.models import Severity
from orchestrate.security.secrets.checks import has_valid_crc32_suffix, is_basic_auth_pair
from orchestrate.security.secrets.rules._build import END, END_ALNUM, on_secret, pattern_rule

_GITHUB_DOCS = "https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats"
_GITLAB_DOCS = "https://docs.gitlab.com/ee/security/tokens/"
_CRC = on_secret(has_valid_crc32_suffix)

RULES = (
    pattern_rule(
        "github-pat",
        "GitHub personal access token",
        r"ghp_[A-Za-z0-9]{36}" + END_ALNUM,
        ("ghp_",),
        validator=_CRC,
        help_uri=_GITHUB_DOCS,
    ),
    pattern_rule(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + END_ALNUM,
        ("github_pat_",),
        min_entropy=4.0,
        help_uri=_GITHUB_DOCS,
    ),
    pattern_rule(
        "github-oauth-token",
        "GitHub OAuth access token",
        r"gho_[A-Za-z0-9]{36}" + END_ALNUM,
        ("gho_",),
        validator=_CRC,
        help_uri=_GITHUB_DOCS,
    ),
    pattern_rule(
        "github-app-token",
        "GitHub App user-to-server or installation token",
        r"gh[us]_[A-Za-z0-9]{36}" + END_ALNUM,
        ("ghu_", "ghs_"),
        validator=_CRC,
        help_uri=_GITHUB_DOCS,
    ),
    pattern_rule(
        "github-refresh-token",
        "GitHub App refresh token",
        r"ghr_[A-Za-z0-9]{36}" + END_ALNUM,
        ("ghr_",),
        validator=_CRC,
        help_uri=_GITHUB_DOCS,
    ),
    pattern_rule(
        "gitlab-pat",
        "GitLab personal, project or group access token",
        r"glpat-[A-Za-z0-9_-]{20}(?:[A-Za-z0-9_-]{7,300}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?)?" + END,
        ("glpat-",),
        min_entropy=3.2,
        help_uri=_GITLAB_DOCS,
    ),
    pattern_rule(
        "gitlab-pipeline-trigger-token",
        "GitLab pipeline trigger token",
        r"glptt-[0-9a-f]{40}" + END,
        ("glptt-",),
        min_entropy=3.2,
        help_uri=_GITLAB_DOCS,
    ),
    pattern_rule(
        "gitlab-runner-token",
        "GitLab runner authentication or registration token",
        r"(?:glrt-[A-Za-z0-9_-]{20,300}|GR1348941[A-Za-z0-9_-]{20})" + END,
        ("glrt-", "gr1348941"),
        min_entropy=3.2,
        help_uri=_GITLAB_DOCS,
    ),
    pattern_rule(
        "gitlab-deploy-token",
        "GitLab deploy token",
        r"gldt-[A-Za-z0-9_-]{20,300}" + END,
        ("gldt-",),
        min_entropy=3.2,
        help_uri=_GITLAB_DOCS,
    ),
    pattern_rule(
        "npm-token",
        "npm access token",
        r"npm_[A-Za-z0-9]{36}" + END_ALNUM,
        ("npm_",),
        validator=_CRC,
        help_uri="https://docs.npmjs.com/about-access-tokens",
    ),
    pattern_rule(
        "pypi-token",
        "PyPI upload token",
        r"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}" + END,
        ("pypi-",),
        help_uri="https://pypi.org/help/#apitoken",
    ),
    pattern_rule(
        "rubygems-api-key",
        "RubyGems API key",
        r"rubygems_[0-9a-f]{48}" + END,
        ("rubygems_",),
        min_entropy=3.2,
    ),
    pattern_rule(
        "clojars-token",
        "Clojars deploy token",
        r"CLOJARS_[a-z0-9]{60}" + END,
        ("clojars_",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "docker-hub-pat",
        "Docker Hub personal access token",
        r"dckr_pat_[A-Za-z0-9_-]{27}" + END,
        ("dckr_pat_",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "docker-config-auth",
        "Docker registry credentials (config.json auths)",
        r'"auth"\s*:\s*"(?P<secret>[A-Za-z0-9+/]{6,2000}={0,2})"',
        ('"auths"',),
        validator=on_secret(is_basic_auth_pair),
        description="A Docker config.json auth entry is a registry user name and "
        "password, base64-encoded.",
        help_uri="https://docs.docker.com/reference/cli/docker/login/#credential-stores",
    ),
    pattern_rule(
        "bitbucket-app-password",
        "Bitbucket app password",
        r"ATBB[A-Za-z0-9_=.-]{32}" + END,
        ("atbb",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "atlassian-api-token",
        "Atlassian API token",
        r"ATATT3[A-Za-z0-9_=-]{186}" + END,
        ("atatt3",),
        severity=Severity.HIGH,
    ),
)
