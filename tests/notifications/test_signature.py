"""The Standard Webhooks signature: the spec's own test vector (standardwebhooks.com; the
same values are in the reference libraries' tests) checks both the test's independent
implementation and ours."""

from __future__ import annotations

import base64
import time

from notifications.senders import webhook_key, webhook_signature

from .channel_servers import sw_sign, sw_verify

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MSG_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = b'{"test": 2432232314}'
SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_independent_implementation_reproduces_the_spec_vector() -> None:
    assert sw_sign(SECRET, MSG_ID, str(TIMESTAMP), BODY) == SIGNATURE


def test_ours_reproduces_the_spec_vector() -> None:
    assert webhook_signature(webhook_key(SECRET), MSG_ID, TIMESTAMP, BODY) == SIGNATURE
    # The prefix is optional, as in the reference libraries.
    assert webhook_key(SECRET.removeprefix("whsec_")) == base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")


def test_the_verifier_refuses_a_changed_body_id_or_old_timestamp() -> None:
    now = str(int(time.time()))
    headers = {
        "webhook-id": MSG_ID,
        "webhook-timestamp": now,
        "webhook-signature": sw_sign(SECRET, MSG_ID, now, BODY),
    }
    assert sw_verify(SECRET, headers, BODY)
    assert not sw_verify(SECRET, headers, BODY + b" ")
    assert not sw_verify(SECRET, {**headers, "webhook-id": "msg_other"}, BODY)
    old = {**headers, "webhook-timestamp": str(TIMESTAMP), "webhook-signature": SIGNATURE}
    assert not sw_verify(SECRET, old, BODY)  # the vector is from 2021: too old to accept now
    # Several signatures, space-delimited: one valid is enough.
    assert sw_verify(
        SECRET, {**headers, "webhook-signature": "v1,bm9wZQ== " + headers["webhook-signature"]}, BODY
    )
