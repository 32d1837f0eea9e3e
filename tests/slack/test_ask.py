"""Ask in Slack: the button on the board's sign-offs panel (PM/PO), chat.postMessage at
the fake Web API with the bearer token and the Block Kit the ask needs, Slack's answer
stored, its errors explained on the board, retries on 429/5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from core.errors import Conflict, NotAllowed
from releases.models import Release
from slack.asks import slack_ask_request
from slack.models import SendStatus, SlackAsk, SlackChannel

from .conftest import BOT_TOKEN, CHANNEL, NOT_MEMBER, Queued
from .slack_servers import Answer, FakeSlackApi

pytestmark = pytest.mark.django_db


def board(client: Client, w: Any) -> str:
    url = reverse("board:release_board", kwargs={"product": w.product.slug, "version": w.release.version})
    return client.get(url).content.decode()


def ask_url(w: Any) -> str:
    return reverse("slack:ask", kwargs={"product": w.product.slug, "version": w.release.version})


def test_pm_asks_and_slack_gets_the_blocks(
    world: Any,
    slack_api: FakeSlackApi,
    queued: Queued,
    run: Any,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    client.force_login(world.pm)
    assert "Ask in Slack" in board(client, world)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ask_url(world), headers={"HX-Request": "true", "HX-Target": "signoffs"})
    assert response.status_code == 200 and "being asked in Slack" in response.content.decode()
    ask = SlackAsk.objects.get()
    assert queued.asks == [(ask.pk, 0.0)]
    assert ask.roles == [Role.QA, Role.BACKEND_LEAD] and ask.status == SendStatus.PENDING
    assert AuditEvent.objects.filter(action="slack.ask", actor=world.pm, release_id=world.release.pk).exists()

    assert run.ask(ask) == "sent"
    (request,) = slack_api.received
    assert request.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    body = request.json()
    assert body["channel"] == CHANNEL and "QA" in body["text"]
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds[0] == "header" and "input" in kinds and kinds.count("actions") == 2
    assert "BLOCKED" in json.dumps(body["blocks"])  # the verdict in words
    comment = next(b for b in body["blocks"] if b["type"] == "input")
    assert comment["element"]["type"] == "plain_text_input" and comment["dispatch_action"] is False
    values = {}
    for block in (b for b in body["blocks"] if b["type"] == "actions"):
        go, no_go = block["elements"]
        assert (go["style"], no_go["style"]) == ("primary", "danger")
        for button in (go, no_go):
            value = json.loads(button["value"])
            assert value["release"] == world.release.pk and value["version"] == world.release.version
            values[(value["role"], value["vote"])] = button["action_id"]
    assert set(values) == {(r, v) for r in (Role.QA, Role.BACKEND_LEAD) for v in ("go", "no_go")}
    assert len(set(values.values())) == 4  # every action_id unique

    ask.refresh_from_db()
    assert ask.status == SendStatus.SENT and ask.posted_channel == CHANNEL and ask.message_ts
    assert ask.answers[-1]["ok"] is True
    assert "Asked in Slack" in board(client, world)


@pytest.mark.parametrize(
    ("channel", "token", "error", "words"),
    [
        (NOT_MEMBER, BOT_TOKEN, "not_in_channel", "invite it to the channel"),
        ("C0UNKNOWN1", BOT_TOKEN, "channel_not_found", "check the channel id"),
        (CHANNEL, "xoxb-revoked", "invalid_auth", "GONOGO_SLACK_BOT_TOKEN"),
    ],
)
def test_slacks_refusal_is_explained_on_the_board(
    world: Any,
    queued: Queued,
    run: Any,
    client: Client,
    monkeypatch: pytest.MonkeyPatch,
    channel: str,
    token: str,
    error: str,
    words: str,
) -> None:
    SlackChannel.objects.filter(pk=world.channel.pk).update(channel_id=channel)
    monkeypatch.setenv("GONOGO_SLACK_BOT_TOKEN", token)
    ask = slack_ask_request(release=world.release, actor=world.pm)
    assert run.ask(ask) == "failed"  # no retry: sending again would not help
    ask.refresh_from_db()
    assert ask.status == SendStatus.FAILED and ask.error == error
    client.force_login(world.pm)
    html = board(client, world)
    assert "Not posted in Slack" in html and words in html
    assert AuditEvent.objects.filter(action="slack.ask_failed", release_id=world.release.pk).exists()
    assert token not in html


def test_429_waits_for_retry_after_and_500_is_retried(
    world: Any, slack_api: FakeSlackApi, queued: Queued, run: Any
) -> None:
    slack_api.answers = [
        Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
        Answer(503, b"upstream"),
    ]
    ask = slack_ask_request(release=world.release, actor=world.pm)
    queued.asks.clear()
    assert run.ask(ask) == "retry"
    assert queued.asks[-1][1] >= 7  # at least Slack's Retry-After
    assert run.ask(ask) == "skipped"  # not due yet
    assert run.ask(ask, due=True) == "retry"
    assert run.ask(ask, due=True) == "sent"
    ask.refresh_from_db()
    assert [a["status"] for a in ask.answers] == [429, 503, 200] and ask.attempts == 3
    assert len(slack_api.posted) == 1


def test_one_ask_at_a_time(world: Any, queued: Queued, run: Any) -> None:
    ask = slack_ask_request(release=world.release, actor=world.pm)
    with pytest.raises(Conflict, match="still on its way"):
        slack_ask_request(release=world.release, actor=world.pm)
    assert run.ask(ask) == "sent"
    assert slack_ask_request(release=world.release, actor=world.pm).pk != ask.pk  # once posted, ask again


def test_no_answer_is_retried(world: Any, queued: Queued, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONOGO_SLACK_API_URL", "http://127.0.0.1:9/api")  # nothing listens
    ask = slack_ask_request(release=world.release, actor=world.pm)
    assert run.ask(ask) == "retry"
    ask.refresh_from_db()
    assert ask.error == "unreachable" and ask.status == SendStatus.PENDING


@pytest.mark.parametrize("role", [r for r in Role.values if r != Role.PM])
def test_only_a_pm_may_ask_service_and_view(
    world: Any, make_user: Any, client: Client, queued: Queued, role: str
) -> None:
    person = make_user(role, product=world.product)
    with pytest.raises(NotAllowed):
        slack_ask_request(release=world.release, actor=person)
    client.force_login(person)
    assert client.post(ask_url(world)).status_code == 403
    assert "Ask in Slack" not in board(client, world)
    assert not SlackAsk.objects.exists() and queued.asks == []


def test_refusals_say_what_to_do(
    world: Any, queued: Queued, monkeypatch: pytest.MonkeyPatch, client: Client
) -> None:
    client.force_login(world.pm)
    monkeypatch.delenv("GONOGO_SLACK_BOT_TOKEN")
    with pytest.raises(Conflict, match="GONOGO_SLACK_BOT_TOKEN"):
        slack_ask_request(release=world.release, actor=world.pm)
    monkeypatch.setenv("GONOGO_SLACK_BOT_TOKEN", BOT_TOKEN)
    SlackChannel.objects.filter(pk=world.channel.pk).update(active=False)
    response = client.post(ask_url(world), headers={"HX-Request": "true", "HX-Target": "signoffs"})
    assert response.status_code == 409 and "has no Slack channel" in response.content.decode()
    SlackChannel.objects.filter(pk=world.channel.pk).update(active=True)
    Release.objects.filter(pk=world.release.pk).update(state="cancelled")
    with pytest.raises(Conflict, match="Sign-offs are taken while"):
        slack_ask_request(release=world.release, actor=world.pm)
    assert not SlackAsk.objects.exists()


def test_nothing_to_ask_when_every_signoff_is_in(
    make_user: Any, slack_api: FakeSlackApi, queued: Queued
) -> None:
    from tests.releases.builders import build_world

    w = build_world(make_user, ready=True)
    SlackChannel.objects.create(product=w.product, channel_id=CHANNEL)
    with pytest.raises(Conflict, match="nothing to ask"):
        slack_ask_request(release=w.release, actor=w.pm)


def test_a_product_without_a_channel_shows_nothing_of_slack(make_user: Any, client: Client) -> None:
    from tests.releases.builders import build_world

    w = build_world(make_user, ready=False)
    client.force_login(w.pm)
    html = board(client, w)
    assert "Ask in Slack" not in html and 'id="slack-ask"' not in html
