"""Cloud providers and infrastructure services."""

from __future__ import annotations

from orchestrate.security.models import Severity
from orchestrate.security.secrets.checks import has_private_key_body, private_key_body
from orchestrate.security.secrets.rules._build import (
    END,
    END_ALNUM,
    keyed_rule,
    on_secret,
    pattern_rule,
)

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _not_aws_example(secret: bytes) -> bool:
    # AWS's documentation uses AKIAIOSFODNN7EXAMPLE; its keys end in EXAMPLE.
    return not secret.endswith(b"EXAMPLE")


RULES = (
    pattern_rule(
        "aws-access-key-id",
        "AWS access key ID",
        r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}" + END_ALNUM,
        ("akia", "asia", "abia", "acca"),
        min_entropy=3.0,
        validator=on_secret(_not_aws_example),
        description="An AWS access key ID is half of an AWS credential; the secret key is "
        "usually nearby.",
        help_uri="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
    ),
    keyed_rule(
        "aws-secret-access-key",
        "AWS secret access key",
        r"aws.*secret|secret_?access_?key",
        r"[A-Za-z0-9/+]{40}",
        ("aws", "secret_access", "secretaccess", "secret-access"),
        severity=Severity.CRITICAL,
        min_entropy=4.0,
        help_uri="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html",
    ),
    pattern_rule(
        "gcp-api-key",
        "Google API key",
        r"AIza[0-9A-Za-z_-]{35}" + END,
        ("aiza",),
        min_entropy=3.5,
        help_uri="https://cloud.google.com/docs/authentication/api-keys",
    ),
    pattern_rule(
        "gcp-service-account-key",
        "Google Cloud service account key",
        r'"private_key"\s*:\s*"(?P<secret>-----BEGIN PRIVATE KEY-----[^"]{64,16000}?'
        r'-----END PRIVATE KEY-----(?:\\n)?)"',
        ("service_account",),
        severity=Severity.CRITICAL,
        validator=on_secret(has_private_key_body),
        normalise=private_key_body,
        priority=4,
        description="A service account's JSON key file lets anyone act as that account.",
        help_uri="https://cloud.google.com/iam/docs/keys-create-delete",
    ),
    pattern_rule(
        "gcp-oauth-client-secret",
        "Google OAuth client secret",
        r"GOCSPX-[A-Za-z0-9_-]{28}" + END,
        ("gocspx-",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "azure-storage-account-key",
        "Azure Storage account key",
        r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
        ("accountkey=",),
        severity=Severity.CRITICAL,
        min_entropy=4.5,
        description="An Azure Storage connection string's AccountKey gives full access to "
        "the storage account.",
        help_uri="https://learn.microsoft.com/azure/storage/common/storage-account-keys-manage",
    ),
    pattern_rule(
        "azure-ad-client-secret",
        "Azure AD (Entra ID) client secret",
        r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}" + r"(?![A-Za-z0-9_~.-])",
        ("q~",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "digitalocean-token",
        "DigitalOcean access token",
        r"do[opr]_v1_[a-f0-9]{64}" + END,
        ("dop_v1_", "doo_v1_", "dor_v1_"),
        min_entropy=3.2,
    ),
    pattern_rule(
        "alibaba-access-key-id",
        "Alibaba Cloud AccessKey ID",
        r"LTAI[A-Za-z0-9]{20}" + END_ALNUM,
        ("ltai",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "heroku-api-key",
        "Heroku API key",
        r"HRKU-AA[0-9A-Za-z_-]{58}" + END,
        ("hrku-",),
        min_entropy=3.5,
    ),
    keyed_rule(
        "heroku-api-key-legacy",
        "Heroku API key (UUID format)",
        r"heroku",
        _UUID,
        ("heroku",),
    ),
    pattern_rule(
        "hashicorp-vault-token",
        "HashiCorp Vault token",
        r"hv[sbr]\.[A-Za-z0-9_-]{90,200}" + END,
        ("hvs.", "hvb.", "hvr."),
        min_entropy=4.0,
        help_uri="https://developer.hashicorp.com/vault/docs/concepts/tokens",
    ),
    pattern_rule(
        "terraform-cloud-token",
        "Terraform Cloud / HCP Terraform API token",
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}" + END,
        (".atlasv1.",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "pulumi-access-token",
        "Pulumi access token",
        r"pul-[a-f0-9]{40}" + END,
        ("pul-",),
        min_entropy=3.2,
    ),
    pattern_rule(
        "databricks-token",
        "Databricks personal access token",
        r"dapi[a-f0-9]{32}(?:-[0-9])?" + END,
        ("dapi",),
        min_entropy=3.2,
    ),
    pattern_rule(
        "doppler-token",
        "Doppler token",
        r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}" + END,
        ("dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."),
        min_entropy=3.5,
    ),
    pattern_rule(
        "flyio-token",
        "Fly.io access token",
        r"fo1_[A-Za-z0-9_-]{43}" + END,
        ("fo1_",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "planetscale-token",
        "PlanetScale token or password",
        r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64}" + END,
        ("pscale_",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "supabase-token",
        "Supabase access token",
        r"sbp_[a-f0-9]{40}" + END,
        ("sbp_",),
        min_entropy=3.2,
    ),
    pattern_rule(
        "grafana-token",
        "Grafana Cloud or service account token",
        r"(?:glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})" + END,
        ("glc_", "glsa_"),
        min_entropy=3.5,
    ),
    pattern_rule(
        "onepassword-service-account-token",
        "1Password service account token",
        r"ops_eyJ[A-Za-z0-9+/]{250,}={0,3}",
        ("ops_eyj",),
    ),
    pattern_rule(
        "dynatrace-token",
        "Dynatrace API token",
        r"dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}" + END,
        ("dt0c01.",),
        min_entropy=3.5,
    ),
    keyed_rule(
        "cloudflare-api-token",
        "Cloudflare API token",
        r"cloudflare|(?:^|_)cf_api",
        r"[A-Za-z0-9_-]{40}",
        ("cloudflare", "cf_api"),
        min_entropy=3.5,
    ),
    keyed_rule(
        "datadog-api-key",
        "Datadog API or application key",
        r"datadog|(?:^|_)dd_(?:api|app)",
        r"[a-f0-9]{32}|[a-f0-9]{40}",
        ("datadog", "dd_api", "dd_app"),
        min_entropy=3.0,
    ),
    keyed_rule(
        "vault-legacy-token",
        "HashiCorp Vault token (before 1.10)",
        r"vault",
        r"s\.[A-Za-z0-9]{24}",
        ("vault",),
        min_entropy=3.5,
    ),
)
