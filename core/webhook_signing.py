"""Standard Webhooks signatures (https://www.standardwebhooks.com/): the key of a
`whsec_<base64>` secret and the `webhook-signature` of one message. Shared by the alert
channels (notifications/senders.py) and the feature flags' webhook provider (flags/)."""

from __future__ import annotations

import base64
import hashlib
import hmac


def webhook_key(secret: str) -> bytes:
    """The signing key of a `whsec_<base64>` secret (the prefix is optional)."""
    raw = secret.strip().removeprefix("whsec_")
    return base64.b64decode(raw, validate=True)


def webhook_signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
