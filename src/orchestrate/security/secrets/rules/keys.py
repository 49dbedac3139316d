"""Key material and credentials that belong to no single provider: private keys, JWTs,
passwords in URLs."""

from __future__ import annotations

import re

from orchestrate.security.models import Severity
from orchestrate.security.secrets.checks import (
    has_private_key_body,
    is_signed_jwt,
    private_key_body,
)
from orchestrate.security.secrets.rules._build import END, on_secret, pattern_rule
from orchestrate.security.secrets.values import (
    DEFAULT_STOPWORDS,
    has_stopword,
    is_patterned,
    is_reference,
)

_KEY_CHECK = on_secret(has_private_key_body)
# A block's body runs to the next "-----" and never gives characters back (possessive):
# a BEGIN without its END fails at once instead of searching 16 KB for one.
_BODY = r"(?:[^-]|-(?!----)){64,64000}+"
_EXAMPLE_HOST = re.compile(
    rb"(?:^|\.)(?:example\.(?:com|org|net)|example|test|invalid|localhost\.localdomain)$"
)
# Passwords that mark a URL as a template or a local default, not a credential.
_URL_PLACEHOLDERS = frozenset(
    b"password pass passwd pwd secret changeme admin root guest postgres mysql redis "
    b"user username test example xxx xxxx xxxxx ****** *** token pat apikey api_key "
    b"access_token oauth2 x-oauth-basic".split()
)


def _url_credentials_ok(password: bytes, match: bytes) -> bool:
    user = match[3:].split(b":", 1)[0]
    host = match.rsplit(b"@", 1)[-1].lower()
    lowered = password.lower()
    return not (
        lowered in _URL_PLACEHOLDERS
        or lowered == user.lower()
        or is_reference(password, is_quoted=False)
        or is_reference(user, is_quoted=False)
        or is_patterned(password)
        or has_stopword(password, DEFAULT_STOPWORDS)
        or b"<" in password
        or _EXAMPLE_HOST.search(host)
    )


RULES = (
    pattern_rule(
        "private-key",
        "Private key (PEM)",
        r"-----BEGIN (?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----"
        + _BODY
        + r"-----END (?:RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----",
        ("private key-----",),
        severity=Severity.CRITICAL,
        validator=_KEY_CHECK,
        normalise=private_key_body,
        priority=3,
        description="A PEM private key (RSA, EC, DSA or PKCS #8) lets its holder sign, "
        "decrypt or log in as its owner.",
        help_uri="https://datatracker.ietf.org/doc/html/rfc7468",
    ),
    pattern_rule(
        "openssh-private-key",
        "OpenSSH private key",
        r"-----BEGIN OPENSSH PRIVATE KEY-----" + _BODY + r"-----END OPENSSH PRIVATE KEY-----",
        ("openssh private key",),
        severity=Severity.CRITICAL,
        validator=_KEY_CHECK,
        normalise=private_key_body,
        priority=3,
        description="An OpenSSH private key logs in wherever its public key is authorised.",
    ),
    pattern_rule(
        "pgp-private-key",
        "PGP private key block",
        r"-----BEGIN PGP PRIVATE KEY BLOCK-----" + _BODY + r"-----END PGP PRIVATE KEY BLOCK-----",
        ("pgp private key block",),
        severity=Severity.CRITICAL,
        validator=_KEY_CHECK,
        normalise=private_key_body,
        priority=3,
        description="A PGP secret key signs and decrypts as its owner.",
    ),
    pattern_rule(
        "putty-private-key",
        "PuTTY private key",
        r"PuTTY-User-Key-File-[23]: [\s\S]{0,4000}?Private-Lines: [0-9]+\r?\n"
        r"(?P<secret>(?:[A-Za-z0-9+/=]{1,64}\r?\n){1,100})",
        ("putty-user-key-file",),
        severity=Severity.CRITICAL,
        validator=_KEY_CHECK,
        normalise=private_key_body,
        priority=3,
        description="A PuTTY .ppk file holds an SSH private key.",
    ),
    pattern_rule(
        "age-secret-key",
        "age secret key",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}" + END,
        ("age-secret-key-1",),
        severity=Severity.CRITICAL,
        min_entropy=3.5,
    ),
    pattern_rule(
        "jwt",
        "JSON Web Token",
        r"eyJ[A-Za-z0-9_-]{10,2000}+\.eyJ[A-Za-z0-9_-]{10,8000}+\.[A-Za-z0-9_-]{10,2000}+" + END,
        ("eyj",),
        severity=Severity.MEDIUM,
        validator=on_secret(is_signed_jwt),
        priority=1,
        description="A signed JSON Web Token is a bearer credential until it expires.",
        help_uri="https://datatracker.ietf.org/doc/html/rfc7519",
    ),
    pattern_rule(
        "url-credentials",
        "Password in a URL",
        r"://(?P<user>[^\s:/@'\"`<>{}\\]{1,64}):(?P<secret>[^\s/@'\"`<>{}\\]{3,128})"
        r"@[A-Za-z0-9.-]{1,253}",
        ("://",),
        validator=_url_credentials_ok,
        description="A URL of the form scheme://user:password@host carries a password "
        "(databases, message brokers, registries, git remotes).",
    ),
)
