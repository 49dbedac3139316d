"""The fake GitHub itself: honest about what it does not understand, real git when backed by
a bare repository, and GitHub App authentication as GitHub checks it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orchestrate.forges.client import MergeMethod, MergeRefused, NewPullRequest
from orchestrate.forges.github.auth import AppCredentials, TokenCredentials
from orchestrate.forges.github.client import GitHubClient
from orchestrate.forges.github.threads import REVIEW_THREADS
from orchestrate.testing import FakeGitHub
from tests.integration.forges.conftest import REPO


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_file(work: Path, name: str, text: str, message: str) -> None:
    (work / name).write_text(text)
    git("add", name, cwd=work)
    git("-c", "user.name=T", "-c", "user.email=t@t", "commit", "-qm", message, cwd=work)


@pytest.fixture
def bare(tmp_path: Path) -> tuple[Path, Path]:
    """A bare repository with main, and a clone of it to push from."""
    remote, work = tmp_path / "app.git", tmp_path / "work"
    git("init", "-q", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    git("clone", "-q", str(remote), str(work), cwd=tmp_path)
    git("checkout", "-q", "-b", "main", cwd=work)
    commit_file(work, "app.py", "one\ntwo\nthree\n", "start")
    git("push", "-q", "origin", "main", cwd=work)
    return remote, work


class TestHonesty:
    def test_a_graphql_field_github_does_not_have_is_a_graphql_error(self) -> None:
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            answer = httpx.post(
                f"{fake.api_url}/graphql",
                headers={"Authorization": f"bearer {fake.token}"},
                json={"query": '{ repository(owner: "octo", name: "app") { stargazerz } }'},
            ).json()
        assert "data" not in answer
        assert "stargazerz" in answer["errors"][0]["message"]

    def test_the_adapters_own_query_validates_against_the_fake_schema(self) -> None:
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            answer = httpx.post(
                f"{fake.api_url}/graphql",
                headers={"Authorization": f"bearer {fake.token}"},
                json={
                    "query": REVIEW_THREADS,
                    "variables": {"owner": "octo", "name": "app", "number": 7},
                },
            ).json()
        assert answer["errors"][0]["type"] == "NOT_FOUND"

    def test_a_request_without_a_known_token_is_refused(self) -> None:
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            answer = httpx.get(f"{fake.api_url}/repos/{REPO}")
        assert (answer.status_code, answer.json()["message"]) == (401, "Bad credentials")

    def test_an_unknown_route_is_not_found_rather_than_guessed(self) -> None:
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            answer = httpx.get(
                f"{fake.api_url}/repos/{REPO}/deployments",
                headers={"Authorization": f"token {fake.token}"},
            )
        assert answer.status_code == 404


class TestBackedByGit:
    async def test_a_pushed_branch_is_the_pull_requests_head_and_merging_is_a_git_merge(
        self, bare: tuple[Path, Path]
    ) -> None:
        remote, work = bare
        git("checkout", "-q", "-b", "feature", cwd=work)
        commit_file(work, "new.py", "print()\n", "add new")
        git("push", "-q", "origin", "feature", cwd=work)
        head = git("rev-parse", "HEAD", cwd=work)
        with FakeGitHub() as fake:
            fake.add_repository(REPO, git_dir=remote)
            async with GitHubClient(
                TokenCredentials(fake.token, "t"), api_url=fake.api_url
            ) as github:
                opened = await github.open_pull_request(
                    NewPullRequest(REPO, "feature", "main", "T", "B")
                )
                result = await github.merge(
                    REPO, opened.number, method=MergeMethod.MERGE, expected_head_sha=head
                )
        assert opened.head_sha == head
        assert git("--git-dir", str(remote), "rev-parse", "main", cwd=work) == result.sha
        parents = git("--git-dir", str(remote), "rev-list", "--parents", "-n1", "main", cwd=work)
        assert parents.split()[2] == head

    async def test_conflicting_branches_are_not_mergeable(self, bare: tuple[Path, Path]) -> None:
        remote, work = bare
        git("checkout", "-q", "-b", "feature", cwd=work)
        commit_file(work, "app.py", "one\nTWO\nthree\n", "change two")
        git("push", "-q", "origin", "feature", cwd=work)
        git("checkout", "-q", "main", cwd=work)
        commit_file(work, "app.py", "one\n2\nthree\n", "change two differently")
        git("push", "-q", "origin", "main", cwd=work)
        with FakeGitHub() as fake:
            fake.add_repository(REPO, git_dir=remote)
            async with GitHubClient(
                TokenCredentials(fake.token, "t"), api_url=fake.api_url
            ) as github:
                opened = await github.open_pull_request(
                    NewPullRequest(REPO, "feature", "main", "T", "B")
                )
                assert opened.mergeable is False
                with pytest.raises(MergeRefused, match="not mergeable"):
                    await github.merge(
                        REPO,
                        opened.number,
                        method=MergeMethod.MERGE,
                        expected_head_sha=opened.head_sha,
                    )


class TestGitHubApp:
    async def test_an_app_finds_its_installation_and_acts_with_an_installation_token(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            fake.add_app("4242", public, {"octo": 77})
            credentials = AppCredentials("4242", private, None, "test")
            async with GitHubClient(credentials, api_url=fake.api_url) as github:
                await github.get_repository(REPO)
                await github.get_repository(REPO)
            calls = [(call.method, call.path, call.login) for call in fake.calls()]
        assert calls == [
            ("GET", "/repos/octo/app/installation", None),
            ("POST", "/app/installations/77/access_tokens", None),
            ("GET", "/repos/octo/app", "orchestrate-app[bot]"),
            ("GET", "/repos/octo/app", "orchestrate-app[bot]"),
        ]

    async def test_an_app_acts_as_its_bot(self) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        public = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        # Its own app id: githubkit keeps an app's token per id across clients.
        with FakeGitHub() as fake:
            fake.add_app("4343", public, {"octo": 77})
            credentials = AppCredentials("4343", private, None, "test")
            async with GitHubClient(credentials, api_url=fake.api_url) as github:
                assert await github.whoami() == "orchestrate-app[bot]"
                assert await github.whoami() == "orchestrate-app[bot]"
            assert [call.path for call in fake.calls()] == ["/app"]

    async def test_a_jwt_signed_with_another_key_is_refused(self) -> None:
        from orchestrate.core.errors import AuthenticationFailed

        def pem(key: rsa.RSAPrivateKey) -> str:
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode()

        real = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = (
            real.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            fake.add_app("4243", public, {"octo": 78})
            credentials = AppCredentials("4243", pem(other), None, "test")
            async with GitHubClient(credentials, api_url=fake.api_url) as github:
                with pytest.raises(AuthenticationFailed):
                    await github.get_repository(REPO)


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        import http.server
        import threading

        received: list[tuple[dict[str, str], bytes]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(202)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Quiet."""

        self.received = received
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/github"


class TestWebhooks:
    async def test_what_happens_is_delivered_signed_and_reads_as_forge_events(self) -> None:
        from pydantic import SecretStr

        from orchestrate.core.settings import Settings
        from orchestrate.forges import service as forges

        receiver = Receiver()
        settings = Settings(github_webhook_secret=SecretStr("s3cret"))
        with FakeGitHub() as fake:
            fake.add_repository(REPO)
            fake.add_webhook(receiver.url, secret="s3cret")
            number = fake.open_issue(REPO, "Crash on start", user="carol", association="OWNER")
            sha = fake.push_branch(REPO, "story-1")
            async with GitHubClient(
                TokenCredentials(fake.token, "t"), api_url=fake.api_url
            ) as github:
                opened = await github.open_pull_request(
                    NewPullRequest(REPO, "story-1", "main", "T", "B")
                )
            fake.add_review(
                REPO, opened.number, user="alice", body="No", comments=[("a.py", 1, "x")]
            )
            fake.set_check(REPO, sha, "test", conclusion="failure")
            deliveries = fake.deliveries()
        events = [
            forges.event_from_delivery(
                "github", d.kind, json.loads(d.body), delivery_id=d.delivery_id
            )
            for d in (forges.parse_github_delivery(settings, h, b) for h, b in receiver.received)
        ]
        receiver.server.shutdown()
        assert [d.status for d in deliveries] == [202] * len(deliveries)
        assert [(e.kind, e.action) for e in events] == [
            ("issues", "opened"),
            ("push", None),
            ("pull_request", "opened"),
            ("pull_request_review", "submitted"),
            ("check_run", "completed"),
        ]
        issue, push, pull, review, check = events
        assert (issue.issue.number, issue.issue.author.association) == (number, "OWNER")  # type: ignore[union-attr]
        assert push.ref == "refs/heads/story-1"
        assert (pull.head_branch, pull.pull_request.head_sha) == ("story-1", sha)  # type: ignore[union-attr]
        assert review.review.state == "changes_requested"  # type: ignore[union-attr]
        assert (check.check.conclusion, check.check.head_sha) == ("failure", sha)  # type: ignore[union-attr]
        assert check.branch == "story-1"
