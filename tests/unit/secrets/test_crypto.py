"""Encryption of secret values: round trips, names bound to ciphertexts, key parsing."""

from __future__ import annotations

import base64

import pytest

from orchestrate.core.errors import ConfigurationError
from orchestrate.secrets.crypto import KeyRing, SecretKey, UndecryptableSecret


def ring(*keys: SecretKey) -> KeyRing:
    return KeyRing(keys, origin="test")


def test_a_value_decrypts_to_itself_and_the_ciphertext_does_not_contain_it() -> None:
    keys = ring(SecretKey.generate())
    key_id, blob = keys.encrypt("TOKEN", "s3cret-välue\nline two")

    assert b"s3cret" not in blob
    assert keys.decrypt("TOKEN", key_id, blob) == "s3cret-välue\nline two"


def test_the_same_value_encrypts_differently_each_time() -> None:
    keys = ring(SecretKey.generate())
    assert keys.encrypt("TOKEN", "value")[1] != keys.encrypt("TOKEN", "value")[1]


def test_a_ciphertext_moved_to_another_name_does_not_decrypt() -> None:
    keys = ring(SecretKey.generate())
    key_id, blob = keys.encrypt("DEPLOY_TOKEN", "value")

    with pytest.raises(UndecryptableSecret, match="ADMIN_TOKEN"):
        keys.decrypt("ADMIN_TOKEN", key_id, blob)


def test_an_older_key_of_the_ring_still_decrypts_what_it_encrypted() -> None:
    old, new = SecretKey.generate(), SecretKey.generate()
    key_id, blob = ring(old).encrypt("TOKEN", "value")

    assert ring(new, old).decrypt("TOKEN", key_id, blob) == "value"
    with pytest.raises(UndecryptableSecret, match=key_id):
        ring(new).decrypt("TOKEN", key_id, blob)


def test_a_key_id_depends_only_on_the_key() -> None:
    key = SecretKey.generate()
    assert SecretKey.parse(key.encoded(), origin="test").id == key.id
    assert SecretKey.generate().id != key.id


def test_keys_are_accepted_in_standard_and_url_safe_base64() -> None:
    material = bytes(range(200, 232))
    standard = base64.b64encode(material).decode()
    url_safe = base64.urlsafe_b64encode(material).decode().rstrip("=")

    assert SecretKey.parse(standard, origin="x").material == material
    assert SecretKey.parse(url_safe, origin="x").material == material


@pytest.mark.parametrize("text", ["", "short", base64.b64encode(b"x" * 16).decode(), "%%%%"])
def test_a_key_that_is_not_32_bytes_of_base64_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigurationError, match="openssl rand -base64 32"):
        SecretKey.parse(text, origin="ORCHESTRATE_SECRET_KEY")
