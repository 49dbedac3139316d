"""Generic secrets: found in every syntax a key/value takes, and not in the look-alikes
that make generic scanners noisy."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.security.secrets import SecretsConfig, scan_tree
from tests.unit.security.secrets.builders import api_secret, hex_secret, password

SECRET = api_secret()
PASSWORD = password()


def _rules(tmp_path: Path, name: str, text: str) -> list[str]:
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(text, encoding="utf-8")
    return [finding.rule_id for finding in scan_tree(tmp_path, SecretsConfig())]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("settings.py", f'API_KEY = "{SECRET}"\n'),
        ("settings.py", f'client = Client(api_key="{SECRET}")\n'),
        ("config.json", f'{{"client_secret": "{SECRET}"}}\n'),
        ("app.js", f"const authToken = '{SECRET}';\n"),
        ("main.go", f'\tapiKey := "{SECRET}"\n'),
        ("values.yaml", f"auth:\n  token: {SECRET}\n"),
        (".env", f"STRIPE_SECRET={SECRET}\n"),
        ("app.properties", f"signing.key={SECRET}\n"),
        ("deploy.sh", f'export ACCESS_TOKEN="{SECRET}"\n'),
        ("app.toml", f'secret_key = "{SECRET}"\n'),
        ("web.config", f'<add key="ApiKey" value="{SECRET}" />\n'),
        ("settings.xml", f"<apiToken>{SECRET}</apiToken>\n"),
        ("pod.yaml", f"env:\n  - name: SERVICE_TOKEN\n    value: {SECRET}\n"),
        ("Client.java", f'builder.setApiKey("{SECRET}");\n'),
        ("index.php", f"$config = ['api_key' => '{SECRET}'];\n"),
        ("request.http", f"Authorization: Bearer {SECRET}\n"),
        ("hash.py", f'webhook_secret = "{hex_secret()}"\n'),
    ],
)
def test_a_random_value_assigned_to_a_secret_key_is_found(
    tmp_path: Path, name: str, text: str
) -> None:
    assert _rules(tmp_path, name, text) == ["secrets/generic-secret"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("settings.py", f'DB_PASSWORD = "{PASSWORD}"\n'),
        ("docker-compose.yml", f"    environment:\n      - POSTGRES_PASSWORD={PASSWORD}\n"),
        ("app.ini", f"[db]\npassword = {PASSWORD}\n"),
        ("Db.cs", f'var connection = "Server=db;User Id=app;Password={PASSWORD};";\n'),
    ],
)
def test_a_literal_password_is_found(tmp_path: Path, name: str, text: str) -> None:
    assert _rules(tmp_path, name, text) == ["secrets/generic-password"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("settings.py", 'password = os.environ["DB_PASSWORD"]\n'),
        ("settings.py", 'api_key = os.getenv("API_KEY", "")\n'),
        ("settings.py", "api_key = settings.API_KEY\n"),
        ("settings.py", "token = generate_token()\n"),
        ("settings.py", 'password = request.form["password"]\n'),
        ("settings.py", "if password == confirm_password:\n"),
        ("settings.py", "PASSWORD_MIN_LENGTH = 12\n"),
        ("settings.py", 'token_type = "bearer"\n'),
        ("settings.py", 'auth_url = "https://auth.acme.io/oauth/token"\n'),
        ("settings.py", 'secret_name = "prod/db/password"\n'),
        ("settings.py", 'TOKEN_HEADER = "X-Auth-Token"\n'),
        ("settings.py", 'api_key = "your-api-key-here"\n'),
        ("settings.py", 'api_key = "<YOUR_API_KEY>"\n'),
        ("settings.py", 'password = "changeme"\n'),
        ("settings.py", 'password = "********"\n'),
        ("settings.py", 'token = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"\n'),
        ("settings.py", 'secret = "abcdefghijklmnopqrstuvwxyz"\n'),
        ("settings.py", 'api_key = "12345678901234567890"\n'),
        ("settings.py", 'password = "%(password)s"\n'),
        ("settings.py", 'api_key = "test_api_key_1234567890"\n'),
        ("settings.py", 'token = "access_token"\n'),
        ("settings.py", 'signing_key_path = "/etc/acme/keys/signing.pem"\n'),
        ("app.js", "const apiKey = process.env.API_KEY;\n"),
        ("app.js", "const token = getToken(user);\n"),
        ("ci.yaml", "      token: ${{ secrets.DEPLOY_TOKEN }}\n"),
        ("vars.yaml", '  password: "{{ vault_db_password }}"\n'),
        (".env", "API_TOKEN=${API_TOKEN}\n"),
        ("deploy.sh", 'export AWS_SECRET_ACCESS_KEY="$AWS_SECRET"\n'),
        ("schema.json", '{"password": {"type": "string", "minLength": 8}}\n'),
        ("login.html", '<input type="password" name="password">\n'),
        ("README.md", "Set `API_KEY` to your key: `export API_KEY=<your key>`.\n"),
        ("package-lock.json", f'{{"token": "{SECRET}"}}\n'),
        ("forms.py", 'CSRF = re.compile(r\'name="csrf_token" value="([0-9a-f]{64})"\')\n'),
        ("docs.md", "git clone https://x-access-token:TOKEN@github.com/octo/app.git\n"),
        ("test_db.py", 'URL = "postgresql://app:hunter2@db.internal/app"\n'),
        ("bundle.min.js", "var a=1;" * 3000 + f'c.token="{SECRET}";\n'),
    ],
)
def test_a_look_alike_is_not_reported(tmp_path: Path, name: str, text: str) -> None:
    assert _rules(tmp_path, name, text) == []


def test_an_unquoted_value_in_code_is_a_variable_not_a_secret(tmp_path: Path) -> None:
    assert _rules(tmp_path, "app.py", f"api_key = {SECRET}\n") == []
    assert _rules(tmp_path, "app.env", f"api_key = {SECRET}\n") == ["secrets/generic-secret"]


def test_a_uuid_or_hash_under_a_neutral_key_is_not_reported(tmp_path: Path) -> None:
    text = (
        'request_id = "0b6f2c1e-8d4a-4f5b-9e3c-2a7d1b6c9e0f"\n'
        f'commit = "{hex_secret()}"\n'
        f'checksum = "{hex_secret()}{hex_secret()[:24]}"\n'
    )

    assert _rules(tmp_path, "app.py", text) == []
