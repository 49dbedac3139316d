"""A labelled corpus for secret scanners, generated from documented key formats.

Nothing here is a real credential: every token is drawn from a seeded random generator
in the shape its issuer documents (prefix, alphabet, length, and for GitHub and npm the
CRC32 checksum), at run time, so this file holds no scannable literal. The corpus is
shared by the secret engine's tests and ``bench/security.py``, which score Orchestrate
and detect-secrets on the same files.

- ``rule_examples``: for every built-in rule id, one true positive (a line, the secret)
  and one near miss (a line that looks like it and is not a secret).
- ``build_corpus``: files in a dozen formats holding true positives (each rule three
  times, generic secrets and passwords in context) and hard negatives (placeholders,
  environment lookups, documentation examples, hashes, lockfile integrity strings,
  UUIDs, base64 images, public keys and certificates, obviously fake fixtures), with
  the lines of each true secret.
- ``score``: precision and recall of a scanner's reported (path, line) pairs.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import string
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

A62 = string.ascii_letters + string.digits
URL64 = A62 + "_-"
B64 = A62 + "+/"
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits
DIGITS = string.digits
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

Part = str | tuple[str, int]


@dataclass(frozen=True)
class Example:
    """A line (or block) holding ``secret``; ``secret_line`` is the 1-based line within
    ``text`` a scanner should report."""

    text: str
    secret: str
    suffix: str = ".conf"
    secret_line: int = 1


@dataclass(frozen=True)
class CorpusFile:
    path: str
    text: str
    secrets: tuple[frozenset[int], ...]
    """For each true secret in the file, the lines on which reporting it counts."""


@dataclass(frozen=True)
class Score:
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        reported = self.true_positives + self.false_positives
        return self.true_positives / reported if reported else 1.0

    @property
    def recall(self) -> float:
        total = self.true_positives + self.false_negatives
        return self.true_positives / total if total else 1.0


def draw(rng: random.Random, parts: Sequence[Part]) -> str:
    return "".join(
        part if isinstance(part, str) else "".join(rng.choice(part[0]) for _ in range(part[1]))
        for part in parts
    )


def crc32_token(rng: random.Random, prefix: str) -> str:
    """A GitHub/npm-format token: 30 random base62 characters and their CRC32."""
    body = draw(rng, [(A62, 30)])
    number = binascii.crc32(body.encode())
    digits = ""
    while number:
        number, remainder = divmod(number, 62)
        digits = _BASE62[remainder] + digits
    return prefix + body + digits.rjust(6, "0")


# (rule id, key name used in context, value parts); keyed rules need their key.
_SHAPES: dict[str, tuple[str, Sequence[Part]]] = {
    "github-fine-grained-pat": ("GITHUB_TOKEN", ["github_pat_", (A62, 22), "_", (A62, 59)]),
    "gitlab-pat": ("GITLAB_TOKEN", ["glpat-", (URL64, 20)]),
    "gitlab-pipeline-trigger-token": ("TRIGGER_TOKEN", ["glptt-", (HEX, 40)]),
    "gitlab-runner-token": ("RUNNER_TOKEN", ["glrt-", (URL64, 20)]),
    "gitlab-deploy-token": ("DEPLOY_TOKEN", ["gldt-", (URL64, 20)]),
    "pypi-token": ("PYPI_TOKEN", ["pypi-AgEIcHlwaS5vcmc", (URL64, 70)]),
    "rubygems-api-key": ("GEM_HOST_API_KEY", ["rubygems_", (HEX, 48)]),
    "clojars-token": ("CLOJARS_TOKEN", ["CLOJARS_", (string.ascii_lowercase + DIGITS, 60)]),
    "docker-hub-pat": ("DOCKERHUB_TOKEN", ["dckr_pat_", (URL64, 27)]),
    "bitbucket-app-password": ("BITBUCKET_APP_PASSWORD", ["ATBB", (A62, 32)]),
    "atlassian-api-token": ("JIRA_API_TOKEN", ["ATATT3", (URL64, 186)]),
    "aws-access-key-id": ("AWS_ACCESS_KEY_ID", ["AKIA", (BASE32, 16)]),
    "aws-secret-access-key": ("aws_secret_access_key", [(B64, 40)]),
    "gcp-api-key": ("GOOGLE_API_KEY", ["AIza", (URL64, 35)]),
    "gcp-oauth-client-secret": ("GOOGLE_CLIENT_SECRET", ["GOCSPX-", (URL64, 28)]),
    "azure-ad-client-secret": (
        "AZURE_CLIENT_SECRET",
        [(A62, 3), (DIGITS, 1), "Q~", (A62 + "_~.-", 34)],
    ),
    "digitalocean-token": ("DIGITALOCEAN_TOKEN", ["dop_v1_", (HEX, 64)]),
    "alibaba-access-key-id": ("ALIBABA_ACCESS_KEY_ID", ["LTAI", (A62, 20)]),
    "heroku-api-key": ("HEROKU_API_KEY", ["HRKU-AA", (URL64, 58)]),
    "hashicorp-vault-token": ("VAULT_TOKEN", ["hvs.", (URL64, 100)]),
    "terraform-cloud-token": ("TFE_TOKEN", [(A62, 14), ".atlasv1.", (URL64, 67)]),
    "pulumi-access-token": ("PULUMI_ACCESS_TOKEN", ["pul-", (HEX, 40)]),
    "databricks-token": ("DATABRICKS_TOKEN", ["dapi", (HEX, 32)]),
    "doppler-token": ("DOPPLER_TOKEN", ["dp.pt.", (A62, 43)]),
    "flyio-token": ("FLY_API_TOKEN", ["fo1_", (URL64, 43)]),
    "planetscale-token": ("PLANETSCALE_TOKEN", ["pscale_tkn_", (URL64, 43)]),
    "supabase-token": ("SUPABASE_ACCESS_TOKEN", ["sbp_", (HEX, 40)]),
    "grafana-token": ("GRAFANA_TOKEN", ["glsa_", (A62, 32), "_", (HEX, 8)]),
    "onepassword-service-account-token": ("OP_SERVICE_ACCOUNT_TOKEN", ["ops_eyJ", (B64, 300)]),
    "dynatrace-token": ("DT_API_TOKEN", ["dt0c01.", (UPPER_DIGITS, 24), ".", (UPPER_DIGITS, 64)]),
    "cloudflare-api-token": ("CLOUDFLARE_API_TOKEN", [(URL64, 40)]),
    "datadog-api-key": ("DD_API_KEY", [(HEX, 32)]),
    "vault-legacy-token": ("VAULT_TOKEN", ["s.", (A62, 24)]),
    "slack-bot-token": (
        "SLACK_BOT_TOKEN",
        ["xoxb-", (DIGITS, 12), "-", (DIGITS, 13), "-", (A62, 24)],
    ),
    "slack-user-token": (
        "SLACK_USER_TOKEN",
        ["xoxp-", (DIGITS, 12), "-", (DIGITS, 12), "-", (DIGITS, 13), "-", (HEX, 32)],
    ),
    "slack-app-token": (
        "SLACK_APP_TOKEN",
        ["xapp-1-", (UPPER_DIGITS, 11), "-", (DIGITS, 13), "-", (HEX, 64)],
    ),
    "slack-webhook-url": (
        "SLACK_WEBHOOK_URL",
        [
            "https://hooks.slack.com/services/T",
            (UPPER_DIGITS, 10),
            "/B",
            (UPPER_DIGITS, 10),
            "/",
            (A62, 24),
        ],
    ),
    "stripe-secret-key": ("STRIPE_SECRET_KEY", ["sk_live_", (A62, 99)]),
    "stripe-restricted-key": ("STRIPE_KEY", ["rk_live_", (A62, 99)]),
    "stripe-webhook-secret": ("STRIPE_WEBHOOK_SECRET", ["whsec_", (A62, 32)]),
    "twilio-api-key": ("TWILIO_API_KEY", ["SK", (HEX, 32)]),
    "twilio-auth-token": ("TWILIO_AUTH_TOKEN", [(HEX, 32)]),
    "sendgrid-api-key": ("SENDGRID_API_KEY", ["SG.", (URL64, 22), ".", (URL64, 43)]),
    "mailgun-api-key": ("MAILGUN_API_KEY", ["key-", (HEX, 32)]),
    "mailchimp-api-key": ("MAILCHIMP_API_KEY", [(HEX, 32), "-us12"]),
    "shopify-token": ("SHOPIFY_ACCESS_TOKEN", ["shpat_", (HEX, 32)]),
    "square-access-token": ("SQUARE_ACCESS_TOKEN", ["EAAA", (URL64, 60)]),
    "square-oauth-secret": ("SQUARE_APP_SECRET", ["sq0csp-", (URL64, 43)]),
    "discord-bot-token": (
        "DISCORD_BOT_TOKEN",
        ["M", (A62, 23), ".", (URL64, 6), ".", (URL64, 27)],
    ),
    "discord-webhook-url": (
        "DISCORD_WEBHOOK",
        ["https://discord.com/api/webhooks/", (DIGITS, 18), "/", (URL64, 68)],
    ),
    "telegram-bot-token": ("TELEGRAM_BOT_TOKEN", [(DIGITS, 10), ":AA", (URL64, 33)]),
    "postman-api-key": ("POSTMAN_API_KEY", ["PMAK-", (HEX, 24), "-", (HEX, 34)]),
    "linear-api-key": ("LINEAR_API_KEY", ["lin_api_", (A62, 40)]),
    "new-relic-api-key": ("NEW_RELIC_API_KEY", ["NRAK-", (UPPER_DIGITS, 27)]),
    "sentry-token": ("SENTRY_AUTH_TOKEN", ["sntryu_", (HEX, 64)]),
    "notion-token": ("NOTION_TOKEN", ["ntn_", (DIGITS, 11), (A62, 35)]),
    "airtable-pat": ("AIRTABLE_TOKEN", ["pat", (A62, 14), ".", (HEX, 64)]),
    "typeform-token": ("TYPEFORM_TOKEN", ["tfp_", (URL64, 59)]),
    "easypost-api-key": ("EASYPOST_API_KEY", ["EZAK", (A62, 54)]),
    "duffel-token": ("DUFFEL_TOKEN", ["duffel_live_", (URL64, 43)]),
    "mapbox-secret-token": ("MAPBOX_TOKEN", ["sk.eyJ1Ijoi", (URL64, 60), ".", (URL64, 22)]),
    "flutterwave-secret-key": ("FLW_SECRET_KEY", ["FLWSECK-", ("abcdefgh" + DIGITS, 32), "-X"]),
    "readme-api-key": ("README_API_KEY", ["rdme_", (string.ascii_lowercase + DIGITS, 70)]),
    "prefect-api-key": ("PREFECT_API_KEY", ["pnu_", (A62, 36)]),
    "scalingo-api-token": ("SCALINGO_API_TOKEN", ["tk-us-", (URL64, 48)]),
    "okta-api-token": ("OKTA_API_TOKEN", ["00", (URL64, 40)]),
    "netlify-access-token": ("NETLIFY_AUTH_TOKEN", [(URL64, 43)]),
    "vercel-token": ("VERCEL_TOKEN", [(A62, 24)]),
    "openai-api-key": ("OPENAI_API_KEY", ["sk-proj-", (URL64, 74), "T3BlbkFJ", (URL64, 74)]),
    "anthropic-api-key": ("ANTHROPIC_API_KEY", ["sk-ant-api03-", (URL64, 93), "AA"]),
    "huggingface-token": ("HF_TOKEN", ["hf_", (string.ascii_letters, 34)]),
    "groq-api-key": ("GROQ_API_KEY", ["gsk_", (A62, 52)]),
    "replicate-api-token": ("REPLICATE_API_TOKEN", ["r8_", (A62, 37)]),
    "perplexity-api-key": ("PERPLEXITY_API_KEY", ["pplx-", (A62, 48)]),
    "xai-api-key": ("XAI_API_KEY", ["xai-", (A62, 80)]),
    "langsmith-api-key": ("LANGSMITH_API_KEY", ["lsv2_pt_", (HEX, 32), "_", (HEX, 10)]),
    "cohere-api-key": ("COHERE_API_KEY", [(A62, 40)]),
    "age-secret-key": ("AGE_KEY", ["AGE-SECRET-KEY-1", (BECH32, 58)]),
}
_CRC_PREFIXES = {
    "github-pat": ("GITHUB_TOKEN", "ghp_"),
    "github-oauth-token": ("GH_OAUTH_TOKEN", "gho_"),
    "github-app-token": ("GH_INSTALLATION_TOKEN", "ghs_"),
    "github-refresh-token": ("GH_REFRESH_TOKEN", "ghr_"),
    "npm-token": ("NPM_TOKEN", "npm_"),
}
_UUID_KEYED = {"heroku-api-key-legacy": "HEROKU_API_KEY", "snyk-api-token": "SNYK_TOKEN"}

_RENDERERS: dict[str, Callable[[str, str], str]] = {
    ".py": lambda key, value: f'{key} = "{value}"',
    ".js": lambda key, value: f"const {_camel(key)} = '{value}';",
    ".go": lambda key, value: f'\t{_camel(key)} := "{value}"',
    ".yaml": lambda key, value: f"  {key.lower()}: {value}",
    ".json": lambda key, value: f'  "{key.lower()}": "{value}",',
    ".env": lambda key, value: f"{key}={value}",
    ".properties": lambda key, value: f"{key.lower().replace('_', '.')}={value}",
    ".xml": lambda key, value: f'    <add key="{key}" value="{value}" />',
    ".sh": lambda key, value: f'export {key}="{value}"',
    ".toml": lambda key, value: f'{key.lower()} = "{value}"',
    ".tf": lambda key, value: f'  {key.lower()} = "{value}"',
    ".conf": lambda key, value: f"{key.lower()} = {value}",
}
SUFFIXES = tuple(_RENDERERS)


def _camel(key: str) -> str:
    first, *rest = key.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


def render(key: str, value: str, suffix: str) -> str:
    return _RENDERERS[suffix](key, value)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _pem_body(rng: random.Random, size: int) -> list[str]:
    text = _b64(rng.randbytes(size))
    return [text[index : index + 64] for index in range(0, len(text), 64)]


def _pem(rng: random.Random, label: str) -> str:
    lines = _pem_body(rng, 1190)
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def _pgp(rng: random.Random) -> str:
    head = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
    lines = [head, "Version: GnuPG v2", "", *_pem_body(rng, 900), "=" + draw(rng, [(B64, 4)])]
    return "\n".join([*lines, "-----END PGP PRIVATE KEY BLOCK-----"])


def _putty(rng: random.Random) -> str:
    public = _pem_body(rng, 270)
    private = _pem_body(rng, 650)
    return "\n".join(
        [
            "PuTTY-User-Key-File-2: ssh-rsa",
            "Encryption: none",
            "Comment: deploy@build",
            f"Public-Lines: {len(public)}",
            *public,
            f"Private-Lines: {len(private)}",
            *private,
            "Private-MAC: " + draw(rng, [(HEX, 40)]),
        ]
    )


def _service_account(rng: random.Random, private_key: str) -> str:
    document = {
        "type": "service_account",
        "project_id": "acme-build-" + draw(rng, [(DIGITS, 6)]),
        "private_key_id": draw(rng, [(HEX, 40)]),
        "private_key": private_key,
        "client_email": "deployer@acme-build.iam.gserviceaccount.com",
        "client_id": draw(rng, [(DIGITS, 21)]),
    }
    return json.dumps(document, indent=2)


def _jwt(rng: random.Random, algorithm: str = "HS256") -> str:
    def segment(value: object) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    claims = {
        "sub": draw(rng, [(DIGITS, 8)]),
        "name": "build",
        "iat": rng.randint(1_600_000_000, 1_800_000_000),
    }
    signature = draw(rng, [(URL64, 43)]) if algorithm != "none" else draw(rng, [(URL64, 12)])
    return f"{segment({'alg': algorithm, 'typ': 'JWT'})}.{segment(claims)}.{signature}"


def random_password(rng: random.Random) -> str:
    """A password a person or a generator would set: 10-20 characters, mixed kinds."""
    length = rng.randint(10, 20)
    pool = string.ascii_letters + DIGITS + "!#%&*+-.=?@^_~"
    while True:
        # Starts with a letter or digit: YAML and .env read a leading & * = ! otherwise.
        value = rng.choice(A62) + "".join(rng.choice(pool) for _ in range(length - 1))
        if (
            sum(
                any(c in kind for c in value)
                for kind in (string.ascii_lowercase, string.ascii_uppercase, DIGITS)
            )
            >= 3
        ):
            return value


def random_api_secret(rng: random.Random) -> str:
    return draw(rng, [rng.choice([(A62, rng.randint(24, 48)), (HEX, rng.choice([32, 40, 64]))])])


def _special(rule_id: str, rng: random.Random) -> Example | None:
    """Positives that need a whole block or a structure, not ``key = value``."""
    if rule_id == "private-key":
        key = _pem(rng, rng.choice(["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY"]))
        return Example(key, key, ".pem")
    if rule_id == "openssh-private-key":
        key = _pem(rng, "OPENSSH PRIVATE KEY")
        return Example(key, key, ".key")
    if rule_id == "pgp-private-key":
        key = _pgp(rng)
        return Example(key, key, ".asc")
    if rule_id == "putty-private-key":
        key = _putty(rng)
        line = key.split("\n").index(
            next(x for x in key.split("\n") if x.startswith("Private-Lines"))
        )
        return Example(key, key, ".ppk", secret_line=line + 2)
    if rule_id == "gcp-service-account-key":
        private_key = _pem(rng, "PRIVATE KEY") + "\n"
        text = _service_account(rng, private_key)
        return Example(text, private_key, ".json", secret_line=5)
    if rule_id == "azure-storage-account-key":
        secret = _b64(rng.randbytes(64))
        value = (
            "DefaultEndpointsProtocol=https;AccountName=acmeassets;"
            f"AccountKey={secret};EndpointSuffix=core.windows.net"
        )
        return Example(render("AZURE_STORAGE_CONNECTION_STRING", value, ".py"), secret, ".py")
    if rule_id == "docker-config-auth":
        secret = _b64(f"deploy:{random_password(rng)}".encode())
        text = (
            '{\n  "auths": {\n    "registry.acme.io": {\n      "auth": "'
            + secret
            + '"\n    }\n  }\n}'
        )
        return Example(text, secret, ".json", secret_line=4)
    if rule_id == "jwt":
        token = _jwt(rng)
        return Example(render("SESSION_JWT", token, ".py"), token, ".py")
    if rule_id == "url-credentials":
        secret = random_password(rng).replace("@", "#").replace("/", "_")
        scheme = rng.choice(["postgres", "mysql", "amqp", "redis", "mongodb+srv", "https"])
        value = f"{scheme}://app_user:{secret}@db-{rng.randint(1, 9)}.internal.acme.io:5432/app"
        return Example(render("DATABASE_URL", value, ".env"), secret, ".env")
    if rule_id == "generic-secret":
        secret = random_api_secret(rng)
        key = rng.choice(
            [
                "api_key",
                "client_secret",
                "AUTH_TOKEN",
                "SECRET_KEY",
                "accessToken",
                "signing_key",
                "webhook_secret",
                "x-api-key",
            ]
        )
        suffix = rng.choice(SUFFIXES)
        return Example(render(key, secret, suffix), secret, suffix)
    if rule_id == "generic-password":
        secret = random_password(rng)
        key = rng.choice(
            ["password", "DB_PASSWORD", "smtp_pass", "admin_pwd", "redisPassword", "passphrase"]
        )
        suffix = rng.choice(SUFFIXES)
        return Example(render(key, secret, suffix), secret, suffix)
    return None


def positive(rule_id: str, rng: random.Random, suffix: str | None = None) -> Example:
    """A true positive for ``rule_id`` (in the file type ``suffix`` where it has a choice)."""
    special = _special(rule_id, rng)
    if special is not None:
        return special
    if rule_id in _CRC_PREFIXES:
        key, prefix = _CRC_PREFIXES[rule_id]
        value = crc32_token(rng, prefix)
    elif rule_id in _UUID_KEYED:
        key, value = _UUID_KEYED[rule_id], str(uuid.UUID(int=rng.getrandbits(128), version=4))
    else:
        key, parts = _SHAPES[rule_id]
        value = draw(rng, parts)
    chosen = suffix or rng.choice(SUFFIXES)
    return Example(render(key, value, chosen), value, chosen)


def near_miss(rule_id: str, rng: random.Random) -> Example:
    """Something shaped like ``rule_id``'s secret that is not one (no finding expected)."""
    blocks = {
        "private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n"
        "-----END RSA PRIVATE KEY-----",
        "openssh-private-key": "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "<paste your key here, it is secret>\n-----END OPENSSH PRIVATE KEY-----",
        "pgp-private-key": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n[your private key block]\n"
        "-----END PGP PRIVATE KEY BLOCK-----",
        "putty-private-key": "PuTTY-User-Key-File-2: ssh-rsa\nPrivate-Lines: 1\n"
        "<private lines here>\n",
        "gcp-service-account-key": _service_account(
            rng, "-----BEGIN PRIVATE KEY-----\\n...\\n-----END PRIVATE KEY-----\\n"
        ),
        "azure-storage-account-key": render(
            "AZURE_STORAGE", "AccountName=acme;AccountKey=" + "x" * 86 + "==", ".py"
        ),
        "docker-config-auth": '{"auths": {"registry.acme.io": {"auth": "'
        + _b64(b"deployuser")
        + '"}}}',
        "jwt": render("SESSION_JWT", _jwt(rng, "none"), ".py"),
        "url-credentials": render(
            "DATABASE_URL", "postgres://user:password@localhost:5432/app", ".env"
        ),
        "generic-secret": render("api_key", "your-api-key-here", ".py"),
        "generic-password": render("password", "changeme", ".py"),
    }
    if rule_id in blocks:
        return Example(blocks[rule_id], "", ".txt")
    if rule_id in _CRC_PREFIXES:
        token = crc32_token(rng, _CRC_PREFIXES[rule_id][1])
        wrong = token[:-1] + ("A" if token[-1] != "A" else "B")  # checksum no longer matches
        return Example(render("build_ref", wrong, ".py"), "", ".py")
    if rule_id in _UUID_KEYED:
        value = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        return Example(render("build_ref", value, ".py"), "", ".py")
    _, parts = _SHAPES[rule_id]
    if _is_keyed_shape(rule_id):
        return Example(render("build_ref", draw(rng, parts), ".py"), "", ".py")
    last = max(index for index, part in enumerate(parts) if not isinstance(part, str))
    chosen = parts[last]
    assert not isinstance(chosen, str)
    alphabet, length = chosen
    shortened = [*parts[:last], (alphabet, max(1, length // 5)), *parts[last + 1 :]]
    return Example(render("build_ref", draw(rng, shortened), ".py"), "", ".py")


_KEYED = frozenset(
    {
        "aws-secret-access-key",
        "cloudflare-api-token",
        "datadog-api-key",
        "vault-legacy-token",
        "twilio-auth-token",
        "okta-api-token",
        "netlify-access-token",
        "vercel-token",
        "cohere-api-key",
        "mailgun-api-key",
        "mailchimp-api-key",
        "discord-bot-token",
    }
)


def _is_keyed_shape(rule_id: str) -> bool:
    """Rules whose value only counts next to its provider's name."""
    return rule_id in _KEYED


def rule_ids() -> frozenset[str]:
    """Every rule id this corpus can make examples for."""
    specials = {
        "private-key",
        "openssh-private-key",
        "pgp-private-key",
        "putty-private-key",
        "gcp-service-account-key",
        "azure-storage-account-key",
        "docker-config-auth",
        "jwt",
        "url-credentials",
        "generic-secret",
        "generic-password",
    }
    return frozenset({*_SHAPES, *_CRC_PREFIXES, *_UUID_KEYED, *specials})


def _hard_negatives(rng: random.Random) -> list[tuple[str, str]]:
    """(text, suffix) of things scanners mistake for secrets; none of them is one."""

    def hex40() -> str:
        return draw(rng, [(HEX, 40)])

    def hex64() -> str:
        return draw(rng, [(HEX, 64)])

    def an_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def b64(size: int) -> str:
        return _b64(rng.randbytes(size))

    sentry = f"https://{draw(rng, [(HEX, 32)])}@o{rng.randint(10**5, 10**6)}.ingest.sentry.io/1"
    placeholders = [
        "your-api-key-here",
        "<YOUR_TOKEN>",
        "x" * 24,
        "changeme",
        "${API_KEY}",
        "{{ api_token }}",
        "%(password)s",
        "REPLACE_ME",
        "********",
        "TODO",
        "dummy-secret-value",
        "test-password",
        "example-key-123",
        "$API_KEY",
        "<password>",
        "not-a-real-secret",
        "fake-token-for-tests",
        "test_api_key_12345",
    ]
    keys = [
        "api_key",
        "password",
        "secret",
        "token",
        "client_secret",
        "AWS_SECRET_ACCESS_KEY",
        "GITHUB_TOKEN",
        "DB_PASSWORD",
        "auth_token",
    ]
    negatives: list[tuple[str, str]] = []
    for value in placeholders:
        suffix = rng.choice(SUFFIXES)
        negatives.append((render(rng.choice(keys), value, suffix), suffix))
    negatives += [
        ('password = os.environ["DB_PASSWORD"]', ".py"),
        ('token = os.getenv("GITHUB_TOKEN")', ".py"),
        ("const apiKey = process.env.API_KEY;", ".js"),
        ("      token: ${{ secrets.DEPLOY_TOKEN }}", ".yaml"),
        ('  password: "{{ vault_db_password }}"', ".yaml"),
        ('export AWS_SECRET_ACCESS_KEY="$AWS_SECRET"', ".sh"),
        ('\tapiKey := os.Getenv("API_KEY")', ".go"),
        ("ENV NPM_TOKEN=${NPM_TOKEN}", ".conf"),
        ('aws_access_key_id = "AKIA' + 'IOSFODNN7EXAMPLE"', ".py"),
        ('aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY"', ".py"),
        (render("GITHUB_TOKEN", "ghp_" + "x" * 36, ".py"), ".py"),
        (render("GITHUB_TOKEN", "ghp_" + draw(rng, [(A62, 36)]), ".py"), ".py"),
        (render("NPM_TOKEN", "npm_" + draw(rng, [(A62, 36)]), ".env"), ".env"),
        (f'commit = "{hex40()}"', ".py"),
        (f"  sha256: {hex64()}", ".yaml"),
        (f'  "checksum": "{hex64()}",', ".json"),
        (f'etag = "{draw(rng, [(HEX, 32)])}"', ".toml"),
        (f"FROM python@sha256:{hex64()}", ".conf"),
        (f'  revision = "{hex40()}"', ".tf"),
        (f'  "id": "{an_id()}",', ".json"),
        (f'request_id = "{an_id()}"', ".py"),
        (f"  tenant_id: {an_id()}", ".yaml"),
        (f"  client_id: {an_id()}", ".yaml"),
        (f".logo {{ background: url(data:image/png;base64,{b64(240)}); }}", ".css"),
        (f'<img alt="spinner" src="data:image/gif;base64,{b64(180)}">', ".html"),
        (f'const icon = "data:image/svg+xml;base64,{b64(300)}";', ".js"),
        (f"ssh-rsa AAAAB3NzaC1yc2E{b64(270)} deploy@build", ".pub"),
        (
            "\n".join(
                ["-----BEGIN CERTIFICATE-----", *_pem_body(rng, 900), "-----END CERTIFICATE-----"]
            ),
            ".crt",
        ),
        (
            "\n".join(
                ["-----BEGIN PUBLIC KEY-----", *_pem_body(rng, 290), "-----END PUBLIC KEY-----"]
            ),
            ".pem",
        ),
        (render("STRIPE_PUBLISHABLE_KEY", "pk_live_" + draw(rng, [(A62, 24)]), ".js"), ".js"),
        (
            render(
                "GOOGLE_CLIENT_ID",
                draw(rng, [(DIGITS, 12), "-", (HEX + "ghijklmnopqrstuv", 32)])
                + ".apps.googleusercontent.com",
                ".env",
            ),
            ".env",
        ),
        (
            f'SENTRY_DSN = "{sentry}"',
            ".py",
        ),
        ('password = request.form["password"]', ".py"),
        ("token = generate_token()", ".py"),
        ("if password == confirm_password:", ".py"),
        ("PASSWORD_MIN_LENGTH = 12", ".py"),
        ('token_type = "bearer"', ".py"),
        ('auth_url = "https://auth.acme.io/oauth/token"', ".py"),
        ('secret_name = "prod/db/password"', ".py"),
        ('  "password": {"type": "string", "minLength": 8},', ".json"),
        ('<input type="password" name="password" autocomplete="current-password">', ".html"),
        ('TOKEN_HEADER = "X-Auth-Token"', ".py"),
        ("api_key = settings.API_KEY", ".py"),
        ('tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")', ".py"),
        ('csrf_token = request.cookies.get("csrftoken")', ".py"),
        ("SECRET_KEY = get_random_secret_key()", ".py"),
        ('video_id = "dQw4w9WgXcQ"', ".py"),
        (
            '<script src="/static/main.8f3a2b1c.js" integrity="sha384-' + b64(48) + '"></script>',
            ".html",
        ),
        (f'payload = "{b64(48)}"', ".py"),
        (f'  "nonce": "{b64(16)}",', ".json"),
        (render("DATABASE_URL", "postgres://postgres:postgres@localhost:5432/app", ".env"), ".env"),
        (render("BROKER_URL", "amqp://guest:guest@localhost:5672/", ".env"), ".env"),
        (render("REPO", "https://user:${GIT_PASSWORD}@git.acme.io/app.git", ".sh"), ".sh"),
        ("Set `GITHUB_TOKEN` to a token with the repo scope: `export API_KEY=<your key>`.", ".md"),
        (render("signing_key_path", "/etc/acme/keys/signing.pem", ".yaml"), ".yaml"),
        (render("auth_token", "access_token", ".py"), ".py"),
    ]
    negatives.append((_package_lock(rng), "package-lock.json"))
    negatives.append((_go_sum(rng), "go.sum"))
    negatives.append((_poetry_lock(rng), "poetry.lock"))
    return negatives


def _package_lock(rng: random.Random) -> str:
    packages = {
        f"node_modules/pkg-{index}": {
            "version": f"1.{index}.0",
            "resolved": f"https://registry.npmjs.org/pkg-{index}/-/pkg-{index}-1.{index}.0.tgz",
            "integrity": "sha512-" + _b64(rng.randbytes(64)),
        }
        for index in range(8)
    }
    return json.dumps({"name": "app", "lockfileVersion": 3, "packages": packages}, indent=2)


def _go_sum(rng: random.Random) -> str:
    return "\n".join(
        f"github.com/acme/mod{index} v1.{index}.0 h1:{_b64(rng.randbytes(32))}"
        for index in range(8)
    )


def _poetry_lock(rng: random.Random) -> str:
    return "\n".join(
        f'    {{file = "pkg{index}.whl", hash = "sha256:{draw(rng, [(HEX, 64)])}"}},'
        for index in range(8)
    )


_FILLER = {
    ".py": [
        "import os",
        "import logging",
        "",
        "log = logging.getLogger(__name__)",
        "TIMEOUT = 30",
        "def get_token(self):",
        "    return self._session.token",
        "# rotate the password every 90 days",
    ],
    ".js": [
        "'use strict';",
        "const path = require('path');",
        "module.exports = { timeout: 30 };",
        "function authHeader(token) { return `Bearer ${token}`; }",
    ],
    ".go": [
        "package config",
        "",
        'import "os"',
        'func Token() string { return os.Getenv("TOKEN") }',
    ],
    ".yaml": ["service:", "  name: billing", "  replicas: 3", "  log_level: info"],
    ".json": ["{", '  "name": "billing",', '  "port": 8080,', '  "debug": false'],
    ".env": ["APP_ENV=production", "LOG_LEVEL=info", "PORT=8080"],
    ".properties": [
        "server.port=8080",
        "spring.application.name=billing",
        "logging.level.root=INFO",
    ],
    ".xml": ['<?xml version="1.0"?>', "<configuration>", "  <appSettings>"],
    ".sh": ["#!/bin/sh", "set -eu", 'cd "$(dirname "$0")"'],
    ".toml": ["[service]", 'name = "billing"', "port = 8080"],
    ".tf": ['provider "aws" {', '  region = "eu-west-1"', "}"],
    ".conf": ["# service settings", "listen = 0.0.0.0:8080", "workers = 4"],
}


def _wrap(rng: random.Random, body: str, suffix: str) -> tuple[str, int]:
    """``body`` between a few filler lines; returns the text and the line ``body`` starts on."""
    filler = _FILLER.get(suffix, ["# notes", ""])
    before = [rng.choice(filler) for _ in range(rng.randint(1, 5))]
    after = [rng.choice(filler) for _ in range(rng.randint(0, 4))]
    return "\n".join([*before, body, *after]) + "\n", len(before) + 1


def build_corpus(seed: int = 7, per_rule: int = 3, generic: int = 40) -> list[CorpusFile]:
    """The labelled corpus: ``per_rule`` positives of every rule, ``generic`` more generic
    secrets and passwords each, and the hard negatives (a file each)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not cryptography
    files: list[CorpusFile] = []
    examples: list[tuple[str, Example]] = []
    for rule_id in sorted(rule_ids()):
        count = per_rule + (generic if rule_id.startswith("generic-") else 0)
        examples += [(rule_id, positive(rule_id, rng)) for _ in range(count)]
    for number, (rule_id, example) in enumerate(examples):
        text, first = _wrap(rng, example.text, example.suffix)
        block = len(example.text.split("\n"))
        if block > 3 and rule_id in {
            "private-key",
            "openssh-private-key",
            "pgp-private-key",
            "putty-private-key",
        }:
            lines = frozenset(range(first, first + block))
        else:
            lines = frozenset({first + example.secret_line - 1})
        files.append(CorpusFile(f"positive/{rule_id}/{number:04d}{example.suffix}", text, (lines,)))
    for number, (body, suffix) in enumerate(_hard_negatives(rng)):
        if "." in suffix and not suffix.startswith("."):
            files.append(CorpusFile(f"negative/{number:04d}/{suffix}", body + "\n", ()))
            continue
        text, _ = _wrap(rng, body, suffix)
        files.append(CorpusFile(f"negative/{number:04d}{suffix}", text, ()))
    return files


def write_corpus(root: Path, files: Iterable[CorpusFile]) -> None:
    for corpus_file in files:
        path = root / corpus_file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(corpus_file.text, encoding="utf-8")


def score(reported: Iterable[tuple[str, int]], files: Sequence[CorpusFile]) -> Score:
    """Precision and recall of reported (path, line) pairs: a secret counts as found when
    any of its lines is reported; a reported line that holds no secret is a false
    positive (a line reported twice counts once)."""
    by_path: dict[str, set[int]] = {}
    for path, line in reported:
        by_path.setdefault(path, set()).add(line)
    found = missed = wrong = 0
    for corpus_file in files:
        lines = by_path.pop(corpus_file.path, set())
        covered: set[int] = set()
        for secret_lines in corpus_file.secrets:
            covered |= secret_lines
            if lines & secret_lines:
                found += 1
            else:
                missed += 1
        wrong += len(lines - covered)
    wrong += sum(len(lines) for lines in by_path.values())
    return Score(found, wrong, missed)
