"""Code scanning in the fake GitHub: SARIF uploads as GitHub takes them.

- ``POST /code-scanning/sarifs`` with ``commit_sha`` (40 hex), ``ref`` (``refs/…``) and
  ``sarif`` (gzip-compressed, then base64): 202 with the upload's ``id`` and ``url``;
  400 when the SARIF cannot be decoded or is not a SARIF 2.1.0 log, 403 when code
  scanning is off for the repository, 413 above 10 MB compressed, 422 for bad fields;
- ``GET /code-scanning/sarifs/{id}``: ``processing_status`` (complete), ``errors``.

Uploads are kept decoded, for tests to read (``FakeGitHub.sarif_uploads``).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import re
import uuid
import zlib
from typing import Any

from orchestrate.testing._github_http import Answer, RestRequest, error, invalid, route
from orchestrate.testing._github_state import FakeRepository, FakeSarifUpload, GitHubState

MAX_COMPRESSED = 10 * 1024 * 1024
MAX_DECOMPRESSED = 100 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REF = re.compile(r"^refs/(heads|tags|pull)/[^\s]+$")


@route("POST", r"/code-scanning/sarifs")
def upload(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _groups: list[str]
) -> Answer:
    body = request.body if isinstance(request.body, dict) else {}
    if not repository.code_scanning_enabled:
        return error(
            403, "Advanced Security must be enabled for this repository to use code scanning."
        )
    problems = [
        {"resource": "CodeScanning", "field": name, "code": "invalid"}
        for name, pattern in (("commit_sha", _SHA), ("ref", _REF))
        if not isinstance(body.get(name), str) or not pattern.match(body[name])
    ]
    if not isinstance(body.get("sarif"), str):
        problems.append({"resource": "CodeScanning", "field": "sarif", "code": "missing_field"})
    if problems:
        return invalid(*problems)
    encoded: str = body["sarif"]
    if len(encoded) * 3 // 4 > MAX_COMPRESSED:
        return error(413, "SARIF upload exceeds the 10 MB limit")
    document = _decode(encoded)
    if isinstance(document, Answer):
        return document
    upload_id = str(uuid.uuid4())
    repository.sarif_uploads[upload_id] = FakeSarifUpload(
        id=upload_id,
        commit_sha=body["commit_sha"],
        ref=body["ref"],
        sarif=document,
        tool_name=body.get("tool_name") if isinstance(body.get("tool_name"), str) else None,
    )
    url = f"{request.origin}/repos/{repository.full_name}/code-scanning/sarifs/{upload_id}"
    return Answer(202, {"id": upload_id, "url": url})


@route("GET", r"/code-scanning/sarifs/(?P<sarif>[^/]+)")
def status(
    state: GitHubState, request: RestRequest, repository: FakeRepository, groups: list[str]
) -> Answer:
    found = repository.sarif_uploads.get(groups[0])
    if found is None:
        return error(404, "Not Found")
    analyses = (
        f"{request.origin}/repos/{repository.full_name}/code-scanning/analyses?sarif_id={found.id}"
    )
    return Answer(
        200,
        {
            "processing_status": found.processing_status,
            "analyses_url": analyses,
            "errors": found.errors or None,
        },
    )


def _decode(encoded: str) -> dict[str, Any] | Answer:
    try:
        packed = base64.b64decode(encoded, validate=True)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing only
        raw = inflater.decompress(packed, MAX_DECOMPRESSED)
        if inflater.unconsumed_tail:
            return error(413, "SARIF upload exceeds the size limit once decompressed")
        document = json.loads(raw)
    except (binascii.Error, zlib.error, gzip.BadGzipFile, UnicodeDecodeError, ValueError):
        return error(400, "Invalid SARIF: the upload is not base64-encoded, gzip-compressed JSON")
    if not isinstance(document, dict) or document.get("version") != "2.1.0":
        return error(400, "Invalid SARIF: only SARIF version 2.1.0 is supported")
    if not isinstance(document.get("runs"), list):
        return error(400, "Invalid SARIF: the log has no runs")
    return document
