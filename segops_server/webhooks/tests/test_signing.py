"""Webhook signatures: both verify with the receivers' own libraries, and nothing else does."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from segops_admin.webhook import verify_webhook
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from segops_server.webhooks.signing import (
    USER_AGENT,
    hmac_key,
    payload_body,
    secret_generate,
    signed_headers,
)

PAYLOAD = {
    "event": "segment.recomputed",
    "tenant_slug": "acme",
    "segment_id": 7,
    "segment_name": "Churn risk · €",
    "member_count": 1204,
    "computed_at": "2026-04-25T14:32:00Z",
}
WHSEC = secret_generate()
PLAIN = "my own passphrase"


def _headers(secret: str, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return signed_headers(secret, body, message_id="msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", timestamp=stamp)


def test_it_generates_standard_webhooks_secrets() -> None:
    secrets = {secret_generate() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def test_it_keys_whsec_secrets_with_their_decoded_bytes_and_others_with_utf8() -> None:
    raw = bytes(range(24))
    assert hmac_key("whsec_" + base64.b64encode(raw).decode()) == raw
    assert hmac_key("whsec_" + base64.b64encode(raw[:23]).decode().rstrip("=")) == raw[:23]
    assert hmac_key("pässword") == "pässword".encode()


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not base64!", "whsec_a"])
def test_it_refuses_malformed_secrets(secret: str) -> None:
    with pytest.raises(ValueError, match="secret"):
        hmac_key(secret)


def test_it_writes_compact_stable_json() -> None:
    body = payload_body(PAYLOAD)
    assert body == payload_body(dict(reversed(PAYLOAD.items())))
    assert (
        body
        == (
            '{"computed_at":"2026-04-25T14:32:00Z","event":"segment.recomputed","member_count":1204,'
            '"segment_id":7,"segment_name":"Churn risk · €","tenant_slug":"acme"}'
        ).encode()
    )  # no spaces, keys sorted, UTF-8 rather than \u escapes
    when = datetime(2026, 4, 25, 14, 32, tzinfo=UTC)
    assert payload_body({"at": when}) == b'{"at":"2026-04-25T14:32:00Z"}'
    with pytest.raises(ValueError, match="JSON"):
        payload_body({"x": float("nan")})


def test_it_sends_the_content_type_user_agent_and_both_signatures() -> None:
    headers = _headers(WHSEC, payload_body(PAYLOAD), timestamp=1_777_000_000)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("SegOps-Webhooks/")
    assert headers["X-SegOps-Signature"].startswith("sha256=")
    assert headers["webhook-id"] == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"
    assert headers["webhook-timestamp"] == "1777000000"
    assert headers["webhook-signature"].startswith("v1,")


@pytest.mark.parametrize("secret", [WHSEC, PLAIN])
def test_it_verifies_with_the_official_sdk(secret: str) -> None:
    body = payload_body(PAYLOAD)
    signature = _headers(secret, body)["X-SegOps-Signature"]
    assert verify_webhook(body, signature, secret)
    assert verify_webhook(body.decode(), signature, secret)


@pytest.mark.parametrize("secret", [WHSEC, PLAIN])
def test_it_fails_the_official_sdk_for_a_tampered_body_or_another_secret(secret: str) -> None:
    body = payload_body(PAYLOAD)
    signature = _headers(secret, body)["X-SegOps-Signature"]
    assert not verify_webhook(body.replace(b"1204", b"1205"), signature, secret)
    assert not verify_webhook(body, signature, secret_generate())
    assert not verify_webhook(body, signature, secret + "x")


def test_it_verifies_with_the_standard_webhooks_library() -> None:
    body = payload_body(PAYLOAD)
    assert Webhook(WHSEC).verify(body, _headers(WHSEC, body)) == PAYLOAD
    # A secret not in the whsec_ form: the receiver passes its UTF-8 bytes as the key.
    assert Webhook(PLAIN.encode()).verify(body, _headers(PLAIN, body)) == PAYLOAD


@pytest.mark.parametrize("secret", [WHSEC, PLAIN])
def test_it_fails_standard_webhooks_for_a_tampered_body_another_secret_or_an_old_timestamp(
    secret: str,
) -> None:
    receiver = Webhook(WHSEC if secret == WHSEC else secret.encode())
    body = payload_body(PAYLOAD)
    headers = _headers(secret, body)
    with pytest.raises(WebhookVerificationError):
        receiver.verify(body.replace(b"1204", b"1205"), headers)
    with pytest.raises(WebhookVerificationError):
        receiver.verify(body, {**headers, "webhook-id": "msg_other"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret_generate()).verify(body, headers)
    with pytest.raises(WebhookVerificationError, match="too old"):
        receiver.verify(body, _headers(secret, body, timestamp=int(time.time()) - 3600))


@pytest.mark.parametrize("message_id", ["a.b", "a\r\nX-Evil: 1", "a\n"])
def test_it_refuses_message_ids_that_would_break_the_signed_string_or_the_header(message_id: str) -> None:
    with pytest.raises(ValueError, match="message id"):
        signed_headers(WHSEC, b"{}", message_id=message_id, timestamp=1)
