"""Slack's request signature, checked against Slack's own worked example
(api.slack.com/authentication/verifying-requests-from-slack) and against tampering."""

from __future__ import annotations

import pytest

from slack.signing import SignatureProblem, signature_check, signature_of

# Slack's documented example: secret, timestamp, slash-command body, signature.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TIMESTAMP = "1531420618"
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&"
    b"channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&"
    b"response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
    b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def headers(signature: str = DOC_SIGNATURE, timestamp: str = DOC_TIMESTAMP) -> dict[str, str]:
    return {"X-Slack-Signature": signature, "X-Slack-Request-Timestamp": timestamp}


def test_slacks_documented_example_verifies() -> None:
    assert signature_of(DOC_SECRET, DOC_TIMESTAMP, DOC_BODY) == DOC_SIGNATURE
    signature_check(DOC_SECRET, headers(), DOC_BODY, now=float(DOC_TIMESTAMP) + 299)


@pytest.mark.parametrize(
    ("secret", "hdrs", "body", "now_offset", "status", "words"),
    [
        (DOC_SECRET, headers(), DOC_BODY + b"&x=1", 0, 401, "does not match"),
        ("another-secret", headers(), DOC_BODY, 0, 401, "does not match"),
        (DOC_SECRET, headers(signature="v0=" + "0" * 64), DOC_BODY, 0, 401, "does not match"),
        (DOC_SECRET, headers(timestamp="1531420619"), DOC_BODY, 0, 401, "does not match"),
        (DOC_SECRET, headers(), DOC_BODY, 301, 403, "five minutes"),
        (DOC_SECRET, headers(), DOC_BODY, -301, 403, "five minutes"),
        (DOC_SECRET, {"X-Slack-Request-Timestamp": DOC_TIMESTAMP}, DOC_BODY, 0, 401, "Missing"),
        (DOC_SECRET, {"X-Slack-Signature": DOC_SIGNATURE}, DOC_BODY, 0, 401, "Missing"),
        (DOC_SECRET, headers(timestamp="soon"), DOC_BODY, 0, 401, "Unix time"),
        ("", headers(), DOC_BODY, 0, 401, "GONOGO_SLACK_SIGNING_SECRET"),
    ],
)
def test_refused_with_a_plain_reason(
    secret: str, hdrs: dict[str, str], body: bytes, now_offset: int, status: int, words: str
) -> None:
    with pytest.raises(SignatureProblem) as refused:
        signature_check(secret, hdrs, body, now=float(DOC_TIMESTAMP) + now_offset)
    assert refused.value.status == status and words in refused.value.reason
