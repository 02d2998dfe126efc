"""Webhook secrets, the bytes a delivery sends, and the headers that sign them.

Every delivery carries two signatures over the same body, so a receiver can use either:

- `X-SegOps-Signature: sha256=<hex>`, the hosted service's scheme, which the official SDK's
  `segops_admin.webhook.verify_webhook(body, header, secret)` checks: HMAC-SHA256 of the raw
  body keyed with the secret string's UTF-8 bytes, whatever the secret looks like.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`):
  HMAC-SHA256 of `"{id}.{timestamp}.{body}"` keyed with `hmac_key(secret)`. The id and the
  timestamp are signed too, so a receiver can refuse replays and deduplicate retries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from importlib import metadata
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

SECRET_PREFIX = "whsec_"
# 32 random bytes: an HMAC-SHA256 key as long as the hash's output (RFC 2104's recommendation).
SECRET_BYTES = 32


def _version() -> str:
    try:
        return metadata.version("segops-server")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        return "0"


USER_AGENT = f"SegOps-Webhooks/{_version()}"


def secret_generate() -> str:
    """A new secret in the Standard Webhooks form: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def hmac_key(secret: str) -> bytes:
    """The key of the Standard Webhooks signature for this secret.

    A `whsec_` secret is the base64 of its key (the Standard Webhooks rule, what its reference
    libraries do with it). A secret given in any other form (a customer's own passphrase) is
    used as its UTF-8 bytes: a receiver verifying with the reference library then passes
    those bytes (`Webhook(secret.encode())`), not the string, which the library would decode
    as base64.
    """
    if not secret:
        raise ValueError("A webhook secret must not be empty.")
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    encoded = secret[len(SECRET_PREFIX) :]
    try:
        # Padding may be left off, as the reference libraries accept; anything else is refused
        # rather than skipped, so two implementations can never derive different keys.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("A whsec_ secret must be base64 after its prefix.") from None
    if not key:
        raise ValueError("A whsec_ secret must not be empty after its prefix.")
    return key


def payload_body(payload: dict[str, Any]) -> bytes:
    """The exact bytes sent and signed: compact JSON, keys sorted, UTF-8.

    Sorted keys make the same payload always the same bytes, so a redelivery carries a body
    (and signatures) identical to the first attempt's. Dates and times are written as ISO 8601
    (Django's JSON encoder, `Z` for UTC).
    """
    text = json.dumps(
        payload,
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        sort_keys=True,
        ensure_ascii=False,
        allow_nan=False,  # NaN and Infinity are not JSON; a receiver's parser may refuse them
    )
    return text.encode("utf-8")


def segops_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body>`, keyed with the secret string's UTF-8 bytes."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def standard_signature(secret: str, body: bytes, *, message_id: str, timestamp: int) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with `hmac_key(secret)`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(hmac_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, body: bytes, *, message_id: str, timestamp: int) -> dict[str, str]:
    """Every header a delivery of `body` sends: content type, user agent and both signatures.

    `message_id` stays the same across retries of one message (receivers deduplicate on it);
    `timestamp` (Unix seconds) is the time of this attempt, so a retry is not refused as a replay.
    """
    if any(c in message_id for c in ".\r\n"):
        # The id is a field of the signed string and a header value: a dot would make the
        # string ambiguous, a line break would split the header.
        raise ValueError("A webhook message id must not contain dots or line breaks.")
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-SegOps-Signature": segops_signature(secret, body),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, body, message_id=message_id, timestamp=timestamp),
    }
