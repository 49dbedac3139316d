"""A GitHub delivery checked by the adapter: signature, headers, JSON body, what is kept."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from orchestrate.core.settings import Settings
from orchestrate.forges import service as forges
from orchestrate.forges.github.signatures import sign, verify_signature
from tests.support import GITHUB_WEBHOOKS

BODY = (GITHUB_WEBHOOKS / "pull_request" / "opened.payload.json").read_bytes()


def settings(secret: str = "right") -> Settings:
    return Settings(github_webhook_secret=SecretStr(secret))


def headers(body: bytes = BODY, *, secret: str = "right", **extra: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": sign(body, secret),
        "Content-Type": "application/json",
        **extra,
    }


def test_a_signed_delivery_is_read_into_what_triggers_stores() -> None:
    delivery = forges.parse_github_delivery(settings(), headers(Authorization="Bearer x"), BODY)

    assert delivery.forge == "github"
    assert (delivery.kind, delivery.action, delivery.delivery_id) == (
        "pull_request",
        "opened",
        "d-1",
    )
    assert delivery.repository == "Codertocat/Hello-World"
    assert delivery.body == BODY.decode()
    assert not delivery.ping
    # GitHub's headers are kept; credentials and the signature are not.
    assert set(delivery.headers) == {"x-github-event", "x-github-delivery", "content-type"}


def test_a_wrong_signature_is_rejected_before_the_body_is_read() -> None:
    with pytest.raises(forges.SignatureRejected, match="does not match"):
        forges.parse_github_delivery(settings(), headers(b"not json", secret="wrong"), b"not json")


def test_an_unsigned_delivery_is_rejected_when_a_secret_is_set() -> None:
    unsigned = {k: v for k, v in headers().items() if k != "X-Hub-Signature-256"}

    with pytest.raises(forges.SignatureRejected, match="no X-Hub-Signature-256"):
        forges.parse_github_delivery(settings(), unsigned, BODY)


def test_any_of_several_secrets_signs_while_rotating() -> None:
    rotating = settings("old, new")

    assert forges.parse_github_delivery(rotating, headers(secret="new"), BODY).kind
    assert verify_signature(BODY, sign(BODY, "old"), ["old", "new"])
    assert not verify_signature(BODY, sign(BODY, "old")[:-1], ["old", "new"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"event=push", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_malformed(body: bytes, message: str) -> None:
    with pytest.raises(forges.MalformedDelivery, match=message):
        forges.parse_github_delivery(settings(), headers(body), body)


def test_missing_headers_are_named() -> None:
    bare = {"X-Hub-Signature-256": sign(BODY, "right")}

    with pytest.raises(forges.MalformedDelivery) as refused:
        forges.parse_github_delivery(settings(), bare, BODY)

    assert refused.value.context["missing"] == ["X-GitHub-Event", "X-GitHub-Delivery"]


def test_a_ping_is_marked_with_its_zen() -> None:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()

    delivery = forges.parse_github_delivery(
        settings(), headers(body, **{"X-GitHub-Event": "ping"}), body
    )

    assert delivery.ping
    assert delivery.zen == "Keep it logically awesome."


def test_a_replayed_delivery_needs_no_signature() -> None:
    replayed = forges.read_github_delivery(forges.github_replay_headers("push", "replay-1"), BODY)

    assert (replayed.kind, replayed.delivery_id) == ("push", "replay-1")
    assert replayed.headers["user-agent"] == "orchestrate-replay"
