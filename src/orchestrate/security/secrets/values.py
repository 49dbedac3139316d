"""Is an assigned value a secret, or one of the things that look like one?

Generic detection (a key that names a secret, a value that looks random) is where
secret scanners lose their precision. What is refused here, and why:

- references and templates (``${DB_PASSWORD}``, ``{{ .token }}``, ``%(pw)s``,
  ``os.environ[...]``, ``process.env.X``): the secret lives elsewhere;
- placeholders and documentation (``changeme``, ``<your-token>``, ``xxxx``, anything
  with ``example``, ``dummy``, ``your_``): nobody's credential;
- file paths, URLs and e-mail addresses: where a secret is, or who, not what;
- repeated or sequential characters (``aaaaaaaa``, ``12345678``, ``abcdef``);
- identifiers and sentences (``access_token``, ``app.auth.token``, ``Enter password``);
- values too short, or too ordered for their alphabet (entropy, per charset).
"""

from __future__ import annotations

import re

from orchestrate.security.secrets.entropy import Charset, charset_of, shannon_entropy

DEFAULT_STOPWORDS = (
    "example",
    "sample",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "changethis",
    "replace",
    "dummy",
    "fake",
    "mock",
    "your",
    "insert",
    "redacted",
    "removed",
    "todo",
    "fixme",
    "notreal",
    "not_real",
    "not-real",
    "invalid",
    "lorem",
    "foobar",
    "xxxx",
    "****",
    "....",
    "secret",
    "password",
    "passw0rd",
    "p@ssw0rd",
    "token",
    "test",
    "demo",
    "sekret",
    # the passwords of jokes and tutorials, and phrases that say a value is not real
    "hunter2",
    "swordfish",
    "s3cret",
    "s3cr3t",
    "p4ssw0rd",
    "letmein",
    "trustno1",
    "correcthorse",
    "do-not",
    "do_not",
    "donot",
)

_REFERENCE_MARKERS = (
    b"${",
    b"{{",
    b"}}",
    b"%(",
    b"#{",
    b"$(",
    b"os.environ",
    b"getenv",
    b"process.env",
    b"env[",
    b"env(",
    b"env.",
    b"secrets.",
    b"vars.",
    b"settings.",
    b"config.",
    b"vault:",
    b"arn:aws",
)
# A bare (unquoted) value starting with one of these is a YAML tag, anchor or alias, a
# variable, a template or a placeholder; a quoted one only when it starts with ``$``,
# ``{`` or ``<…>``.
_BARE_REFERENCE_STARTS = frozenset(b"$%&*!<[{(")
_SHELL_VARIABLE = re.compile(rb"^\$[A-Za-z_{(]")
_AUTH_SCHEMES = re.compile(rb"(?i)^(?:bearer|basic|token|digest|apikey)\s+")
_PATH = re.compile(
    rb"^(?:\.{1,2}/|~/|/[A-Za-z0-9._-]+/|[A-Za-z]:\\)|"
    rb"\.(?:pem|key|crt|cer|json|txt|ya?ml|p12|pfx|jks|env|keystore|gpg|asc|conf|ini|pub)$",
    re.IGNORECASE,
)
_EMAIL = re.compile(rb"^[^@\s]+@[A-Za-z0-9-]+\.[A-Za-z0-9.-]+$")
# Words and identifiers: "access_token", "app.auth.token", "getAccessToken", "API_KEY".
# Possessive quantifiers: a value that is not words fails in linear time.
_WORDS = re.compile(rb"^(?:[._ /:-]?+(?:[A-Z]?+[a-z]{2,}+|[A-Z]++(?![a-z])))++$")
_SEQUENCES = (
    b"abcdefghijklmnopqrstuvwxyz",
    b"zyxwvutsrqponmlkjihgfedcba",
    b"01234567890123456789",
    b"98765432109876543210",
    b"qwertyuiopasdfghjklzxcvbnm",
)


def strip_auth_scheme(value: bytes) -> bytes:
    """``Bearer abc`` -> ``abc``: the scheme is not part of the secret."""
    return _AUTH_SCHEMES.sub(b"", value, count=1)


def is_reference(value: bytes, *, is_quoted: bool = True) -> bool:
    """A variable, a template, an environment lookup: not the secret itself."""
    if not value:
        return True
    if is_quoted:
        if _SHELL_VARIABLE.match(value) or value[:1] == b"{":
            return True
        if value[:1] == b"<" and value[-1:] == b">":
            return True
    elif value[0] in _BARE_REFERENCE_STARTS:
        return True
    lowered = value.lower()
    return any(marker in lowered for marker in _REFERENCE_MARKERS)


def has_stopword(value: bytes, stopwords: tuple[str, ...]) -> bool:
    lowered = value.decode("latin-1").lower()
    return any(word in lowered for word in stopwords)


def is_patterned(value: bytes) -> bool:
    """Few distinct characters, one short unit repeated, or a run of the keyboard or
    the alphabet: typed by a person as filler."""
    lowered = value.lower()
    if len(set(lowered)) <= max(3, len(value) // 8):
        return True
    for unit in range(1, 5):
        if len(value) >= unit * 3 and lowered == (lowered[:unit] * len(value))[: len(value)]:
            return True
    return len(lowered) >= 6 and any(lowered in sequence for sequence in _SEQUENCES)


# Regular-expression syntax: a pattern that matches secrets is not one.
_REGEX = re.compile(rb"\[[^\]]{1,40}\][*+?{]|\\[dwsb]|\(\?|\{\d+(?:,\d*)?\}")


def looks_like_non_secret(value: bytes) -> bool:
    """Paths, URLs, e-mail addresses, regular expressions, identifiers and words."""
    if b"://" in value or _PATH.search(value) or _EMAIL.match(value) or _REGEX.search(value):
        return True
    if any(character in value for character in b" \t"):
        return True
    return bool(_WORDS.match(value))


def character_classes(value: bytes) -> int:
    lower = any(97 <= c <= 122 for c in value)
    upper = any(65 <= c <= 90 for c in value)
    digit = any(48 <= c <= 57 for c in value)
    other = any(not (48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122) for c in value)
    return lower + upper + digit + other


def secret_entropy_ok(value: bytes) -> tuple[bool, float]:
    """A value assigned to ``token``/``api_key``/``secret``: random enough for its
    charset? Hex needs 16 characters and 3 bits each; anything else 12 characters, 3.3
    bits and a digit or symbol (a mixed-case word of letters is an identifier)."""
    entropy = shannon_entropy(value)
    if value.isdigit():
        return False, entropy
    if charset_of(value) is Charset.HEX:
        return len(value) >= 16 and entropy >= 3.0, entropy
    if len(value) < 12 or entropy < 3.3:
        return False, entropy
    if character_classes(value) >= 3 or (len(value) >= 20 and entropy >= 4.0):
        return True, entropy
    return False, entropy


def password_ok(value: bytes) -> tuple[bool, float]:
    """A value assigned to ``password``: eight characters of two kinds or more, not too
    ordered. People choose passwords, so the bar is lower than for keys."""
    entropy = shannon_entropy(value)
    if len(value) < 8 or value.isdigit():
        return False, entropy
    return character_classes(value) >= 2 and entropy >= 2.5, entropy
