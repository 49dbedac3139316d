"""The validators that refuse impossible tokens."""

from __future__ import annotations

import base64
import json

from orchestrate.security.secrets.checks import (
    base62,
    has_valid_crc32_suffix,
    is_basic_auth_pair,
    is_signed_jwt,
)
from tests.unit.security.secrets.builders import github_token


def test_base62_pads_to_six_characters() -> None:
    assert base62(0) == "000000"
    assert base62(61) == "00000z"
    assert base62(62) == "000010"


def test_a_token_with_its_crc32_checksum_passes_and_a_changed_one_fails() -> None:
    token = github_token()
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]

    assert has_valid_crc32_suffix(token.encode())
    assert not has_valid_crc32_suffix(tampered.encode())


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_only_a_signed_jwt_with_json_header_and_payload_passes() -> None:
    payload = _segment({"sub": "42"})
    signature = "c2lnbmF0dXJlLWJ5dGVz"

    assert is_signed_jwt(f"{_segment({'alg': 'HS256'})}.{payload}.{signature}".encode())
    assert not is_signed_jwt(f"{_segment({'alg': 'none'})}.{payload}.{signature}".encode())
    assert not is_signed_jwt(f"{_segment({'alg': 'HS256'})}.{payload}.".encode())
    assert not is_signed_jwt(b"eyJub3QganNvbg.eyJub3QganNvbg.c2ln")


def test_a_docker_auth_value_must_decode_to_user_and_password() -> None:
    assert is_basic_auth_pair(base64.b64encode(b"deploy:s3cure-Passw0rd"))
    assert not is_basic_auth_pair(base64.b64encode(b"deploy"))
    assert not is_basic_auth_pair(base64.b64encode(b"user:user"))
    assert not is_basic_auth_pair(b"not base64!")
