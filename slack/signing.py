"""Slack's request signature (api.slack.com/authentication/verifying-requests-from-slack):
`X-Slack-Signature` is `v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{body}`
keyed with the app's signing secret; a timestamp more than five minutes away is refused
(a replayed request)."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

WINDOW_SECONDS = 5 * 60


class SignatureProblem(Exception):
    """Why a request is refused; `status` is 401 (not signed by Slack) or 403 (stale)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature_of(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signature_check(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: float | None = None
) -> None:
    """Nothing when Slack signed `body`, else `SignatureProblem` with a plain reason."""
    if not secret:
        raise SignatureProblem(
            401, "The server has no Slack signing secret: its administrator sets GONOGO_SLACK_SIGNING_SECRET."
        )
    timestamp = (headers.get("X-Slack-Request-Timestamp") or "").strip()
    given = (headers.get("X-Slack-Signature") or "").strip()
    if not timestamp or not given:
        raise SignatureProblem(401, "Missing X-Slack-Signature or X-Slack-Request-Timestamp.")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SignatureProblem(401, "X-Slack-Request-Timestamp is not a Unix time.") from None
    now = time.time() if now is None else now
    if abs(now - sent_at) > WINDOW_SECONDS:
        raise SignatureProblem(
            403, "The request is more than five minutes old (or from the future): refused."
        )
    if not hmac.compare_digest(signature_of(secret, timestamp, body).encode(), given.encode()):
        raise SignatureProblem(401, "The X-Slack-Signature does not match this body and the signing secret.")
