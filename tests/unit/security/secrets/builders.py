"""Secrets for tests, drawn at run time so the repository holds no scannable literal."""

from __future__ import annotations

import random

from orchestrate.testing.secrets_corpus import A62, HEX, crc32_token, draw, random_password

_RNG = random.Random(20_261_207)


def github_token() -> str:
    """A ``ghp_`` token with a valid checksum."""
    return crc32_token(_RNG, "gh" + "p_")


def api_secret() -> str:
    """A random 32-character key, as a generic secret looks."""
    return draw(_RNG, [(A62, 32)])


def hex_secret() -> str:
    return draw(_RNG, [(HEX, 40)])


def password() -> str:
    return random_password(_RNG)
