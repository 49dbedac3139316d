"""The two generic rules: a secret or a password assigned to a key that names one.

They have no pattern: the engine finds ``key = value`` pairs around their keywords
(``secrets.keyvalue``), ``classify_key`` says whether the key names a password or
another secret, and ``values`` judges the value. They run last and lose to any
provider rule that matched the same text.
"""

from __future__ import annotations

import functools
import itertools
import re
from enum import StrEnum

from orchestrate.security.models import Severity
from orchestrate.security.secrets.models import Rule, RuleKind


class KeyKind(StrEnum):
    PASSWORD = "password"  # noqa: S105 - a kind of key, not a password
    SECRET = "secret"  # noqa: S105


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_PASSWORD_WORDS = _words("password passwords passwd pwd pass passphrase passcode dbpass")
_SECRET_WORDS = _words(
    "secret secrets token tokens apikey apikeys credential credentials creds privatekey "
    "accesskey secretkey clientsecret authtoken authkey bearer signingkey encryptionkey "
    "masterkey sessionkey auth authorization accesstoken refreshtoken apitoken apisecret "
    "appsecret"
)
_SECRET_PAIRS = frozenset(
    tuple(pair.split("+"))
    for pair in _words(
        "api+key api+secret access+key private+key secret+key signing+key encryption+key "
        "master+key client+secret app+key app+secret auth+key session+key consumer+key "
        "consumer+secret account+key shared+key hmac+key webhook+secret"
    )
)
# A key ending in one of these names something about the secret, not the secret.
_METADATA_WORDS = _words(
    "url uri urls path paths file files dir directory type types name names id ids "
    "length len size count endpoint endpoints header headers field fields prefix "
    "suffix format timeout expiry expires expiration expire ttl version hash hashed "
    "digest checksum fingerprint label description desc hint policy policies regex "
    "pattern env var variable param parameter method mode provider scheme scope "
    "scopes audience issuer algorithm alg enabled required min max minimum maximum "
    "limit attempts retries reset confirmation confirm strength rule rules validator "
    "validation error errors message msg placeholder text title input class style "
    "icon button link route view form template store manager service client handler "
    "callback cache index position start end offset ref reference arn location "
    "source kind host port user username email login delimiter separator char "
    "chars encoding usage lifetime duration interval age at time timestamp date "
    "key keys set list map dict config settings option options flag "
    "command cmd script generator factory helper util utils spec schema table "
    "column col query sql"
)
_FLAG_WORDS = _words(
    "is has use uses enable disable require requires should can allow show toggle "
    "check validate verify generate create parse read load fetch num no skip"
)
# Run-together names: "redispassword", "githubtoken", "stripeapikey".
_PASSWORD_ENDINGS = ("password", "passwd", "passphrase")
_SECRET_ENDINGS = ("secret", "token", "apikey", "accesskey", "privatekey", "secretkey")
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SPLIT = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=8192)
def normalise_key(key: bytes) -> str:
    """``dbPassword`` and ``DB-PASSWORD`` -> ``db_password``."""
    text = _CAMEL.sub(r"\1_\2", key.decode("latin-1")).lower()
    return "_".join(word for word in _SPLIT.split(text) if word)


@functools.lru_cache(maxsize=4096)
def classify_key(normalised: str) -> KeyKind | None:
    """What a (normalised) key's name says its value is, if a secret."""
    words = normalised.split("_")
    if not words or not words[-1]:
        return None
    if words[-1] in _METADATA_WORDS and not (
        len(words) >= 2 and (words[-2], words[-1]) in _SECRET_PAIRS
    ):
        return None
    if words[0] in _FLAG_WORDS and len(words) > 1:
        return None
    if any(word in _PASSWORD_WORDS or word.endswith(_PASSWORD_ENDINGS) for word in words):
        return KeyKind.PASSWORD
    if any(word in _SECRET_WORDS or word.endswith(_SECRET_ENDINGS) for word in words):
        return KeyKind.SECRET
    if any(pair in _SECRET_PAIRS for pair in itertools.pairwise(words)):
        return KeyKind.SECRET
    return None


def _spellings(first: str, second: str) -> tuple[str, ...]:
    return tuple(f"{first}{separator}{second}" for separator in ("_", "-", ".", ""))


# The words that start a look for ``key = value``: single words, and every spelling of
# the two-word names (``api_key``, ``api-key``, ``api.key``, ``apikey``).
GENERIC_KEYWORDS = tuple(
    dict.fromkeys(
        (
            *sorted(_words("pass pwd secret token auth credential creds bearer")),
            *(
                spelling
                for first, second in sorted(_SECRET_PAIRS)
                for spelling in _spellings(first, second)
            ),
        )
    )
)

GENERIC_SECRET = Rule(
    id="generic-secret",
    title="Secret assigned to a key that names one",
    description="A random-looking value assigned to a key such as api_key, token, "
    "client_secret or auth, in code or configuration.",
    severity=Severity.HIGH,
    keywords=GENERIC_KEYWORDS,
    kind=RuleKind.GENERIC,
    priority=1,
    remediation="Move the value to the secret store or the environment and rotate it.",
)

GENERIC_PASSWORD = Rule(
    id="generic-password",
    title="Hard-coded password",
    description="A literal password assigned to a key such as password, passwd or pwd.",
    severity=Severity.HIGH,
    keywords=GENERIC_KEYWORDS,
    kind=RuleKind.GENERIC,
    priority=1,
    remediation="Move the password to the secret store or the environment and change it.",
)

RULES = (GENERIC_SECRET, GENERIC_PASSWORD)
