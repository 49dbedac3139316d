"""GitHub Actions filter patterns, checked against GitHub's own cheat-sheet examples."""

from __future__ import annotations

import re

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.triggers.globs import InvalidPattern, compile_pattern, matches_any, only_negative

# (pattern, value, selected) — the branch and tag examples of GitHub's cheat sheet.
REF_EXAMPLES = [
    ("feature/*", "feature/my-branch", True),
    ("feature/*", "feature/your-branch", True),
    ("feature/*", "feature/beta-a/my-branch", False),
    ("feature/**", "feature/beta-a/my-branch", True),
    ("feature/**", "feature/mona/the/octocat", True),
    ("main", "main", True),
    ("main", "main-2", False),
    ("releases/mona-the-octocat", "releases/mona-the-octocat", True),
    ("*", "main", True),
    ("*", "releases", True),
    ("*", "feature/x", False),
    ("**", "all/the/branches", True),
    ("**", "every/tag", True),
    ("*feature", "mona-feature", True),
    ("*feature", "feature", True),
    ("*feature", "ver-10-feature", True),
    ("*feature", "feature-x", False),
    ("v2*", "v2", True),
    ("v2*", "v2.0", True),
    ("v2*", "v2.9", True),
    ("v2*", "v3", False),
    ("v[12].[0-9]+.[0-9]+", "v1.10.1", True),
    ("v[12].[0-9]+.[0-9]+", "v2.0.0", True),
    ("v[12].[0-9]+.[0-9]+", "v3.0.0", False),
    ("v[12].[0-9]+.[0-9]+", "v1.x.1", False),
]

# The path examples of GitHub's cheat sheet.
PATH_EXAMPLES = [
    ("*", "README.md", True),
    ("*", "server.rb", True),
    ("*", "docs/README.md", False),
    ("*.jsx?", "page.js", True),
    ("*.jsx?", "page.jsx", True),
    ("*.jsx?", "page.jsxx", False),
    ("**", "all/the/files.md", True),
    ("*.js", "app.js", True),
    ("*.js", "index.js", True),
    ("*.js", "src/app.js", False),
    ("**.js", "index.js", True),
    ("**.js", "js/index.js", True),
    ("**.js", "src/js/app.js", True),
    ("docs/*", "docs/README.md", True),
    ("docs/*", "docs/file.txt", True),
    ("docs/*", "docs/guide/file.txt", False),
    ("docs/**", "docs/README.md", True),
    ("docs/**", "docs/mona/octocat.txt", True),
    ("docs/**/*.md", "docs/README.md", True),
    ("docs/**/*.md", "docs/mona/hello-world.md", True),
    ("docs/**/*.md", "docs/a/markdown/file.md", True),
    ("docs/**/*.md", "docs/a/file.txt", False),
    ("**/docs/**", "docs/hello.md", True),
    ("**/docs/**", "dir/docs/my-file.txt", True),
    ("**/docs/**", "space/docs/plan/space.doc", True),
    ("**/docs/**", "mydocs/file.txt", False),
    ("**/README.md", "README.md", True),
    ("**/README.md", "js/README.md", True),
    ("**/README.md", "README.mdx", False),
    ("**/*src/**", "a/src/app.js", True),
    ("**/*src/**", "my-src/code/js/app.js", True),
    ("**/*-post.md", "my-post.md", True),
    ("**/*-post.md", "path/their-post.md", True),
    ("**/migrate-*.sql", "migrate-10909.sql", True),
    ("**/migrate-*.sql", "db/migrate-v1.0.sql", True),
    ("**/migrate-*.sql", "db/sept/migrate-v1.sql", True),
    ("**/migrate-*.sql", "db/migrate.sql", False),
]

# Each feature on its own.
FEATURE_EXAMPLES = [
    # '*' is zero or more characters, never '/'.
    ("a*", "a", True),
    ("a*b", "a/b", False),
    # '**' crosses '/'; '**/' may stand for no directory at all.
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a**b", "a/x/b", True),
    # '?' is zero or one of the preceding character (not "any one character").
    ("Octoc?t", "Octot", True),
    ("Octoc?t", "Octoct", True),
    ("Octoc?t", "Octocat", False),
    ("colou?r", "color", True),
    ("colou?r", "colour", True),
    # '+' is one or more of the preceding character.
    ("lo+p", "loop", True),
    ("lo+p", "lp", False),
    ("[0-9]+", "2024", True),
    ("[0-9]+", "", False),
    # '[]' lists characters and ranges.
    ("[CB]at", "Cat", True),
    ("[CB]at", "Bat", True),
    ("[CB]at", "Hat", False),
    ("[1-2]00", "100", True),
    ("[1-2]00", "200", True),
    ("[1-2]00", "300", False),
    ("[0-9a-z]", "q", True),
    ("[0-9a-z]", "Q", False),
    ("[a-]", "-", True),
    # '\' makes a special character literal.
    (r"\*", "*", True),
    (r"\*", "x", False),
    (r"c\+\+", "c++", True),
    (r"c\+\+", "cc", False),
    (r"why\?", "why?", True),
    (r"\[x]", "[x]", True),
    (r"\!important", "!important", True),
    (r"a\\b", "a\\b", True),
    # '\' before an ordinary character is an ordinary backslash (paths may contain one).
    (r"a\b", "a\\b", True),
    # Regex metacharacters are literal.
    ("a.b", "a.b", True),
    ("a.b", "axb", False),
    ("(x)|y", "(x)|y", True),
    ("^$", "^$", True),
    # '!' inside a pattern is literal; matching is whole-value and case-sensitive.
    ("a!b", "a!b", True),
    ("main", "Main", False),
    ("main", "not-main", False),
]


@pytest.mark.parametrize(
    ("pattern", "value", "selected"), REF_EXAMPLES + PATH_EXAMPLES + FEATURE_EXAMPLES
)
def test_a_pattern_matches_exactly_what_github_documents(
    pattern: str, value: str, selected: bool
) -> None:
    assert matches_any([pattern], value) is selected


# (patterns, value, selected) — ordered evaluation; the last matching pattern decides.
LIST_EXAMPLES = [
    (["*.md", "!README.md"], "hello.md", True),
    (["*.md", "!README.md"], "README.md", False),
    (["*.md", "!README.md"], "docs/hello.md", False),
    (["*.md", "!README.md", "README*"], "hello.md", True),
    (["*.md", "!README.md", "README*"], "README.md", True),
    (["*.md", "!README.md", "README*"], "README.doc", True),
    (["releases/**", "!releases/**-alpha"], "releases/10", True),
    (["releases/**", "!releases/**-alpha"], "releases/beta/3-alpha", False),
    (["!releases/**-alpha", "releases/**"], "releases/beta/3-alpha", True),
    (["!main"], "main", False),
    (["!main"], "develop", False),
    ([], "main", False),
]


@pytest.mark.parametrize(("patterns", "value", "selected"), LIST_EXAMPLES)
def test_the_last_matching_pattern_of_a_list_decides(
    patterns: list[str], value: str, selected: bool
) -> None:
    assert matches_any(patterns, value) is selected


def test_a_list_of_only_negative_patterns_is_recognised() -> None:
    assert only_negative(["!main", "!dev"])
    assert not only_negative(["!main", "dev"])
    assert not only_negative([])


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("", "cannot be empty"),
        ("?x", "'?' must follow a character"),
        ("+x", "'+' must follow a character"),
        ("a*?", "'?' must follow a character"),
        ("a??", "'?' must follow a character"),
        ("a+?", "'?' must follow a character"),
        ("v[0-9", "'[' is never closed"),
        ("[]", "must list at least one character"),
        ("[z-a]", "reversed"),
        ("[0-z]", "within a-z, A-Z or 0-9"),
    ],
)
def test_a_pattern_github_would_reject_raises_with_the_problem(pattern: str, problem: str) -> None:
    with pytest.raises(InvalidPattern, match=re.escape(problem)):
        compile_pattern(pattern)


def test_an_invalid_pattern_is_a_validation_error_naming_the_position() -> None:
    with pytest.raises(ValidationFailed) as raised:
        compile_pattern("ab+?")
    assert "character 4" in str(raised.value)
    assert raised.value.context == {"pattern": "ab+?", "position": 4}


def test_a_lone_exclamation_mark_in_a_list_is_rejected() -> None:
    with pytest.raises(InvalidPattern, match="nothing after '!'"):
        matches_any(["main", "!"], "main")


def test_a_pattern_is_compiled_once_and_reused() -> None:
    assert compile_pattern("cache/**/me") is compile_pattern("cache/**/me")
