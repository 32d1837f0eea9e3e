"""Fixtures for sign-offs from Slack: the fake Web API and response_url, the app's
secrets pointing at them, a release with its product's channel, the Celery tasks'
queueing captured (each test runs the attempts itself), and signed interactions built
the way Slack builds them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from slack import tasks
from slack.asks import slack_ask_send
from slack.models import SlackAsk, SlackChannel, SlackLink, SlackReply
from slack.replies import slack_reply_send
from tests.releases.builders import build_world

from .slack_servers import FakeResponseUrl, FakeSlackApi

BOT_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0GONOGO01"
NOT_MEMBER = "C0NOTMEMB1"
TEAM = "T0TEAM0001"
QA_SLACK = "U0QAPERSON"
LEAD_SLACK = "U0LEADPERS"


@dataclass
class Queued:
    asks: list[tuple[int, float]] = field(default_factory=list)
    replies: list[tuple[int, float]] = field(default_factory=list)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> Queued:
    seen = Queued()

    def recorder(into: list[tuple[int, float]]) -> Callable[..., None]:
        def apply_async(args: Any = None, countdown: float | None = None, **kwargs: Any) -> None:
            into.append((int(args[0]), float(countdown or 0)))

        return apply_async

    monkeypatch.setattr(tasks.ask_post_task, "apply_async", recorder(seen.asks))
    monkeypatch.setattr(tasks.reply_send_task, "apply_async", recorder(seen.replies))
    return seen


@pytest.fixture
def slack_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlackApi]:
    fake = FakeSlackApi(BOT_TOKEN, channels={CHANNEL, NOT_MEMBER}, not_member={NOT_MEMBER}).start()
    monkeypatch.setenv("GONOGO_SLACK_API_URL", fake.url)
    monkeypatch.setenv("GONOGO_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("GONOGO_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    yield fake
    fake.stop()


@pytest.fixture
def response_url() -> Iterator[FakeResponseUrl]:
    fake = FakeResponseUrl().start()
    yield fake
    fake.stop()


@pytest.fixture
def world(make_user: Callable[..., Any], slack_api: FakeSlackApi) -> Any:
    """A candidate missing its QA and Backend Lead sign-offs, asking in CHANNEL; the QA
    and the lead are linked to Slack users."""
    w = build_world(make_user, ready=False)
    w.product.language = "en"
    w.product.save(update_fields=["language"])
    w.channel = SlackChannel.objects.create(product=w.product, channel_id=CHANNEL)
    SlackLink.objects.create(user=w.qa, slack_user_id=QA_SLACK, team_id=TEAM)
    SlackLink.objects.create(user=w.lead, slack_user_id=LEAD_SLACK, team_id="")
    return w


@pytest.fixture
def run(django_capture_on_commit_callbacks: Any) -> Any:
    """Run one attempt as the task would (its after-commit work included)."""

    class Runner:
        def ask(self, ask: SlackAsk, *, due: bool = False) -> str:
            ask.refresh_from_db()
            now = max(ask.next_attempt_at, _now()) if due and ask.next_attempt_at else None
            with django_capture_on_commit_callbacks(execute=True):
                return slack_ask_send(ask_id=ask.pk, now=now)

        def reply(self, reply: SlackReply, *, due: bool = False) -> str:
            reply.refresh_from_db()
            now = max(reply.next_attempt_at, _now()) if due and reply.next_attempt_at else None
            with django_capture_on_commit_callbacks(execute=True):
                return slack_reply_send(reply_id=reply.pk, now=now)

    return Runner()


def _now() -> Any:
    from django.utils import timezone

    return timezone.now()


def sign(body: bytes, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def block_actions(
    *,
    button: dict[str, Any],
    user: str,
    team: str = TEAM,
    comment: str | None = None,
    response_url: str = "",
) -> dict[str, Any]:
    """A `block_actions` payload as Slack sends it for a button press
    (api.slack.com/reference/interaction-payloads/block-actions)."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "name": "someone", "team_id": team},
        "api_app_id": "A0GONOGO01",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1503435957.000247",
            "channel_id": CHANNEL,
            "is_ephemeral": False,
        },
        "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
        "team": {"id": team, "domain": "example"},
        "channel": {"id": CHANNEL, "name": "releases"},
        "message": {"type": "message", "ts": "1503435957.000247", "text": "Sign-offs wanted"},
        "state": {"values": {"gonogo_comment": {"comment": {"type": "plain_text_input", "value": comment}}}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "block_id": button["block_id"],
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button["value"],
                "style": button.get("style"),
                "action_ts": "1548426417.840180",
            }
        ],
    }


def form_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def post_interaction(client: Client, body: bytes, headers: dict[str, str] | None = None) -> Any:
    return client.post(
        reverse("slack:interactions"),
        body,
        content_type="application/x-www-form-urlencoded",
        headers=headers if headers is not None else sign(body),
    )


def buttons_of(message: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(role, vote) → the button, with its block_id, from a posted message."""
    found = {}
    for block in message["blocks"]:
        if block["type"] == "actions":
            for e in block["elements"]:
                value = json.loads(e["value"])
                found[(value["role"], value["vote"])] = {**e, "block_id": block["block_id"]}
    return found
