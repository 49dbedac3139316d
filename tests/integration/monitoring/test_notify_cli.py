"""``orchestrate notify channels|add|remove|test|log`` against the test databases."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from orchestrate.app.cli import app
from orchestrate.testing.fake_pagerduty import FakePagerDuty
from orchestrate.testing.fake_slack import FakeSlack
from orchestrate.testing.fake_webhook import FakeWebhookReceiver, signature_matches
from tests.integration.cli.support import Cli


@pytest.fixture
def receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver() as fake:
        yield fake


def channels(cli: Cli) -> list[dict[str, object]]:
    result = cli("notify", "channels", "--json")
    assert result.exit_code == 0, result.output
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def secret_names(cli: Cli) -> list[str]:
    result = cli("secret", "list", "--json")
    assert result.exit_code == 0, result.output
    return [secret["name"] for secret in json.loads(result.stdout)]


class TestAdd:
    def test_a_webhook_from_the_readme_line_gets_a_signing_key_printed_once(self, cli: Cli) -> None:
        result = cli(
            "notify",
            "add",
            "ops-hook",
            "--type",
            "webhook",
            "--url",
            "http://127.0.0.1:9000/alerts",
        )

        assert result.exit_code == 0, result.output
        assert "Added webhook channel ops-hook: http://127.0.0.1:9000/alerts." in result.stderr
        key = re.search(r"give it to the receiver\): ([0-9a-f]{64})", result.stderr)
        assert key is not None
        assert secret_names(cli) == ["NOTIFY_OPS_HOOK_SIGNING_KEY"]
        [listed] = channels(cli)
        assert listed["secrets"] == {"signing_key": "NOTIFY_OPS_HOOK_SIGNING_KEY"}
        shown = cli("notify", "channels")
        assert key.group(1) not in shown.output
        assert key.group(1) not in json.dumps(listed)

    def test_a_slack_url_is_stored_as_a_secret_and_never_shown(self, cli: Cli) -> None:
        url = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"

        result = cli("notify", "add", "team", "--type", "slack", "--url", url)

        assert result.exit_code == 0, result.output
        assert url not in result.output
        assert url not in cli("notify", "channels").output
        assert url not in json.dumps(channels(cli))
        assert secret_names(cli) == ["NOTIFY_TEAM_WEBHOOK_URL"]

    def test_a_pagerduty_routing_key_is_read_from_standard_input(self, cli: Cli) -> None:
        result = CliRunner().invoke(
            app,
            ["notify", "add", "oncall", "--type", "pagerduty", "--routing-key-stdin"],
            env=cli.env,
            input="R0UT1NGKEY0000000000000000000000\n",
        )

        assert result.exit_code == 0, result.output
        [listed] = channels(cli)
        assert listed["target"] == "https://events.pagerduty.com"
        assert secret_names(cli) == ["NOTIFY_ONCALL_ROUTING_KEY"]

    def test_an_email_channel_keeps_its_smtp_settings(self, cli: Cli) -> None:
        result = cli(
            "notify", "add", "ops-mail", "--type", "email", "--smtp-host", "smtp.example.com",
            "--smtp-port", "587", "--starttls", "--from", "alerts@example.com",
            "--to", "ops@example.com,oncall@example.com",
        )  # fmt: skip

        assert result.exit_code == 0, result.output
        [listed] = channels(cli)
        assert listed["config"] == {
            "smtp_host": "smtp.example.com",
            "smtp_port": 587,
            "starttls": True,
            "username": None,
            "from": "alerts@example.com",
            "to": ["ops@example.com", "oncall@example.com"],
        }

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (("bad_name", "--type", "webhook", "--url", "http://x"), "is not a channel name"),
            (("hook", "--type", "webhook"), "--url is required"),
            (("hook", "--type", "webhook", "--url", "ftp://x/y"), "http:// or https://"),
            (("hook", "--type", "slack"), "--url is required"),
            (("hook", "--type", "pagerduty"), "needs a routing key"),
            (("hook", "--type", "email", "--smtp-host", "h", "--to", "a@b.c"), "needs --from"),
            (
                ("hook", "--type", "email", "--smtp-host", "h", "--from", "a@b.c", "--to", "nope"),
                "'nope' in --to",
            ),
            (
                ("hook", "--type", "webhook", "--url", "http://x", "--routing-key-secret", "K"),
                "takes no --routing-key-secret",
            ),
            (
                ("hook", "--type", "webhook", "--url", "http://x", "--signing-secret", "MISSING"),
                "'MISSING', which is not stored",
            ),
        ],
    )
    def test_bad_input_exits_2_with_the_reason_and_stores_nothing(
        self, cli: Cli, args: tuple[str, ...], message: str
    ) -> None:
        result = cli("notify", "add", *args)

        assert result.exit_code == 2, result.output
        assert message in result.output
        assert channels(cli) == []
        assert secret_names(cli) == []

    def test_an_unknown_type_is_refused(self, cli: Cli) -> None:
        result = cli("notify", "add", "hook", "--type", "carrier-pigeon")

        assert result.exit_code == 2
        assert channels(cli) == []

    def test_a_name_in_use_is_refused_and_its_secret_kept(self, cli: Cli) -> None:
        url = "http://127.0.0.1:9000/alerts"
        assert cli("notify", "add", "ops-hook", "--type", "webhook", "--url", url).exit_code == 0

        again = cli("notify", "add", "ops-hook", "--type", "webhook", "--url", url)

        assert again.exit_code == 1
        assert "already" in again.output
        assert secret_names(cli) == ["NOTIFY_OPS_HOOK_SIGNING_KEY"]


class TestTestAndRemove:
    def test_a_test_reaches_the_receiver_signed_and_is_logged(
        self, cli: Cli, receiver: FakeWebhookReceiver
    ) -> None:
        added = cli("notify", "add", "ops-hook", "--type", "webhook", "--url", receiver.url)
        key = re.search(r"receiver\): ([0-9a-f]{64})", added.stderr)
        assert key is not None

        result = cli("notify", "test", "ops-hook")

        assert result.exit_code == 0, result.output
        assert f"sent to {receiver.url}" in result.output
        [request] = receiver.requests
        assert signature_matches(
            key.group(1), request.body, request.headers["x-orchestrate-signature-256"]
        )
        assert request.json()["alerts"][0]["labels"]["alertname"] == "OrchestrateTest"
        log = json.loads(cli("notify", "log", "--json").stdout)
        assert [(e["channel"], e["outcome"]) for e in log] == [("ops-hook", "sent")]

    def test_a_failed_test_exits_1_with_the_receivers_reason(
        self, cli: Cli, receiver: FakeWebhookReceiver
    ) -> None:
        cli("notify", "add", "ops-hook", "--type", "webhook", "--url", receiver.url)
        receiver.fail_next(1, 403, body={"error": "forbidden by policy"})

        result = cli("notify", "test", "ops-hook")

        assert result.exit_code == 1
        assert "HTTP 403" in result.output
        assert "forbidden by policy" in result.output
        log = json.loads(cli("notify", "log", "--json").stdout)
        assert [e["outcome"] for e in log] == ["failed"]

    def test_a_pagerduty_test_triggers_and_resolves_its_own_incident(self, cli: Cli) -> None:
        with FakePagerDuty() as pagerduty:
            CliRunner().invoke(
                app,
                ["notify", "add", "oncall", "--type", "pagerduty", "--routing-key-stdin",
                 "--url", pagerduty.origin],
                env=cli.env,
                input=pagerduty.routing_key,
            )  # fmt: skip

            result = cli("notify", "test", "oncall")

            assert result.exit_code == 0, result.output
            assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
            assert list(pagerduty.incidents.values()) == ["resolved"]

    def test_a_slack_test_reaches_slack(self, cli: Cli) -> None:
        with FakeSlack() as slack:
            cli("notify", "add", "team", "--type", "slack", "--url", slack.url)

            result = cli("notify", "test", "team")

            assert result.exit_code == 0, result.output
            assert slack.url not in result.output
            assert len(slack.messages) == 1

    def test_testing_or_removing_an_unknown_channel_says_how_to_list_them(self, cli: Cli) -> None:
        for command in ("test", "remove"):
            result = cli("notify", command, "nowhere")

            assert result.exit_code == 1
            assert "orchestrate notify channels" in result.output

    def test_remove_deletes_the_channel_and_the_secret_it_brought(self, cli: Cli) -> None:
        cli("notify", "add", "ops-hook", "--type", "webhook", "--url", "http://127.0.0.1:9/a")

        result = cli("notify", "remove", "ops-hook")

        assert result.exit_code == 0, result.output
        assert channels(cli) == []
        assert secret_names(cli) == []
        audit = cli("audit", "list", "--json")
        actions = [record["action"] for record in json.loads(audit.stdout)]
        assert "notification.channel_add" in actions
        assert "notification.channel_remove" in actions

    def test_remove_keeps_a_secret_the_channel_only_named(self, cli: Cli) -> None:
        CliRunner().invoke(app, ["secret", "set", "HOOK_KEY"], env=cli.env, input="k3y-value")
        cli(
            "notify", "add", "ops-hook", "--type", "webhook", "--url", "http://127.0.0.1:9/a",
            "--signing-secret", "HOOK_KEY",
        )  # fmt: skip

        cli("notify", "remove", "ops-hook")

        assert secret_names(cli) == ["HOOK_KEY"]
