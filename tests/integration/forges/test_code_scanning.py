"""SARIF uploads to GitHub code scanning through the forge, against the fake GitHub."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.forges import service as forges
from orchestrate.forges.client import ForgeError
from orchestrate.security.sarif import SarifInput, to_sarif
from orchestrate.testing import FakeGitHub
from tests.integration.forges.conftest import REPO
from tests.unit.security.findings import every_kind

SHA = "a" * 40


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token="ghp_code_scanning") as github:
        github.add_repository(REPO)
        yield github


@pytest.fixture
def configured(runtime: Runtime, fake: FakeGitHub) -> Runtime:
    runtime.settings = runtime.settings.model_copy(
        update={
            "github_api_url": fake.api_url,
            "github_token": SecretStr("ghp_code_scanning"),
            "forge_retry_base_seconds": 0.01,
        }
    )
    return runtime


def sarif_bytes() -> bytes:
    return json.dumps(to_sarif(SarifInput(every_kind()))).encode()


async def test_an_upload_arrives_decoded_and_its_processing_is_read(
    configured: Runtime, fake: FakeGitHub
) -> None:
    receipt = await forges.upload_sarif(
        configured.uow(),
        configured.settings,
        REPO,
        commit_sha=SHA,
        ref="refs/heads/main",
        sarif=sarif_bytes(),
    )
    processing = await forges.sarif_processing(
        configured.uow(), configured.settings, REPO, receipt.id
    )

    (upload,) = fake.sarif_uploads(REPO)
    assert upload.id == receipt.id
    assert receipt.url.endswith(f"/code-scanning/sarifs/{receipt.id}")
    assert (upload.commit_sha, upload.ref, upload.tool_name) == (
        SHA,
        "refs/heads/main",
        "orchestrate",
    )
    assert upload.sarif == json.loads(sarif_bytes())
    assert processing.status == "complete"
    assert processing.errors == ()


async def test_bad_sha_and_ref_are_refused_before_any_call(
    configured: Runtime, fake: FakeGitHub
) -> None:
    with pytest.raises(ValidationFailed, match="40 hex"):
        await forges.upload_sarif(
            configured.uow(),
            configured.settings,
            REPO,
            commit_sha="HEAD",
            ref="refs/heads/main",
            sarif=sarif_bytes(),
        )
    with pytest.raises(ValidationFailed, match="full ref"):
        await forges.upload_sarif(
            configured.uow(),
            configured.settings,
            REPO,
            commit_sha=SHA,
            ref="main",
            sarif=sarif_bytes(),
        )
    assert fake.calls(path_contains="code-scanning") == []


async def test_code_scanning_off_is_a_forge_error_naming_it(
    configured: Runtime, fake: FakeGitHub
) -> None:
    fake.disable_code_scanning(REPO)

    with pytest.raises(ForgeError, match="Advanced Security") as raised:
        await forges.upload_sarif(
            configured.uow(),
            configured.settings,
            REPO,
            commit_sha=SHA,
            ref="refs/pull/7/merge",
            sarif=sarif_bytes(),
        )
    assert raised.value.status == 403


@pytest.mark.parametrize(
    ("sarif", "status"),
    [
        # mtime=0: gzip stamps the time otherwise, and pytest-xdist needs the same ids
        # on every worker
        ("not base64!", 400),
        (base64.b64encode(b"plain, not gzip").decode(), 400),
        (
            base64.b64encode(gzip.compress(b'{"version": "2.0.0", "runs": []}', mtime=0)).decode(),
            400,
        ),
        (base64.b64encode(gzip.compress(b"[1, 2]", mtime=0)).decode(), 400),
    ],
    ids=["not-base64", "not-gzip", "wrong-sarif-version", "not-an-object"],
)
def test_the_fake_refuses_what_github_refuses(fake: FakeGitHub, sarif: str, status: int) -> None:
    answer = httpx.post(
        f"{fake.api_url}/repos/{REPO}/code-scanning/sarifs",
        json={"commit_sha": SHA, "ref": "refs/heads/main", "sarif": sarif},
        headers={"Authorization": "Bearer ghp_code_scanning"},
    )

    assert answer.status_code == status, answer.text
    assert fake.sarif_uploads(REPO) == []
