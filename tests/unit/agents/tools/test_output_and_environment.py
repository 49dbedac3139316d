"""The scrubbed environment agents' commands get, and head-and-tail output capping."""

from __future__ import annotations

from orchestrate.agents.tools.base import clip_middle
from orchestrate.agents.tools.shell import scrubbed_environment


class TestScrubbedEnvironment:
    def test_secrets_are_dropped_and_ordinary_variables_kept(self) -> None:
        base = {
            "PATH": "/usr/bin",
            "HOME": "/home/agent",
            "LANG": "C.UTF-8",
            "TERM": "xterm",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "Ada",
            "ANTHROPIC_API_KEY": "sk-ant",
            "OPENAI_API_KEY": "sk",
            "GITHUB_TOKEN": "ghp",
            "AWS_ACCESS_KEY_ID": "AKIA",
            "AWS_REGION": "eu-west-1",
            "ORCHESTRATE_DATABASE_URL": "postgresql://x",
            "MY_SERVICE_SECRET": "s",
            "DB_PASSWORD": "p",
            "GOOGLE_APPLICATION_CREDENTIALS": "/key.json",
            "SSH_AUTH_SOCK": "/tmp/agent.sock",
            "NPM_TOKEN": "t",
            "GIT_DIR": "/home/user/repo/.git",
        }
        assert scrubbed_environment(base) == {
            "PATH": "/usr/bin",
            "HOME": "/home/agent",
            "LANG": "C.UTF-8",
            "TERM": "xterm",
            "LC_ALL": "C",
            "GIT_AUTHOR_NAME": "Ada",
        }

    def test_a_url_with_a_password_is_dropped_whatever_its_name(self) -> None:
        base = {"UPSTREAM": "https://user:hunter2@example.com/repo.git", "MIRROR": "https://x.org"}
        assert scrubbed_environment(base) == {"MIRROR": "https://x.org"}

    def test_names_are_matched_regardless_of_case(self) -> None:
        assert scrubbed_environment({"github_token": "x", "path": "/bin"}) == {"path": "/bin"}


class TestClipMiddle:
    def test_short_text_is_unchanged(self) -> None:
        assert clip_middle("hello", 10) == "hello"

    def test_long_text_keeps_head_and_tail_and_counts_the_rest(self) -> None:
        text = "A" * 50 + "B" * 100 + "C" * 50
        clipped = clip_middle(text, 100)
        assert clipped == "A" * 50 + "\n[… 100 characters omitted …]\n" + "C" * 50
