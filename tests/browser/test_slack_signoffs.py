"""Sign-offs from Slack in a browser: the PM/PO presses Ask in Slack on the board, the
ask is posted to the fake Slack Web API and the board says so live; the QA presses Go in
Slack (a signed interaction, as Slack sends it) and the board shows the sign-off, via
Slack, without a reload. In English (the new words are not translated yet)."""

from __future__ import annotations

import urllib.request

import pytest
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo
from releases.models import Release
from slack import tasks
from slack.asks import slack_ask_send
from slack.blocks import ask_message
from slack.models import SendStatus, SlackAsk, SlackChannel, SlackLink
from slack.replies import slack_reply_send

from ..slack.conftest import (
    BOT_TOKEN,
    CHANNEL,
    QA_SLACK,
    SIGNING_SECRET,
    TEAM,
    block_actions,
    buttons_of,
    form_body,
    sign,
)
from ..slack.slack_servers import FakeResponseUrl, FakeSlackApi
from .conftest import SHOTS, log_in, screenshot

pytestmark = pytest.mark.browser


def test_ask_in_slack_and_a_go_from_slack_show_live(
    asgi_server: str, browser: Browser, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_demo()
    api = FakeSlackApi(BOT_TOKEN, channels={CHANNEL}).start()
    response_url = FakeResponseUrl().start()
    queued: list[tuple[str, int]] = []
    monkeypatch.setattr(
        tasks.ask_post_task, "apply_async", lambda args, **kw: queued.append(("ask", args[0]))
    )
    monkeypatch.setattr(
        tasks.reply_send_task, "apply_async", lambda args, **kw: queued.append(("reply", args[0]))
    )
    monkeypatch.setenv("GONOGO_SLACK_API_URL", api.url)
    monkeypatch.setenv("GONOGO_SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("GONOGO_SLACK_SIGNING_SECRET", SIGNING_SECRET)
    try:
        release = Release.objects.select_related("product").get(product__slug="ios-app", version="2.4.0")
        SlackChannel.objects.create(product=release.product, channel_id=CHANNEL)
        qa = SlackLink.objects.model._meta.get_field("user").related_model.objects.get(username="qa")
        SlackLink.objects.create(user=qa, slack_user_id=QA_SLACK, team_id=TEAM)
        page = log_in(browser, asgi_server, "pm")
        page.goto(f"{asgi_server}/releases/ios-app/2.4.0/")
        panel = page.locator("#signoffs")
        panel.get_by_role("button", name="Ask in Slack").click()
        expect(panel).to_contain_text("Being posted in Slack")
        ask = SlackAsk.objects.get()
        assert ("ask", ask.pk) in queued
        assert slack_ask_send(ask_id=ask.pk) == "sent"  # what the worker does
        expect(panel).to_contain_text("Asked in Slack", timeout=12_000)
        assert SlackAsk.objects.get().status == SendStatus.SENT and api.posted[0]["channel"] == CHANNEL
        screenshot(page, "slack-asked-en")
        if SHOTS:
            panel.screenshot(path=f"{SHOTS}/slack-asked-panel-en.png")

        button = buttons_of(ask_message(release))[("qa", "go")]
        body = form_body(block_actions(button=button, user=QA_SLACK, response_url=response_url.url))
        request = urllib.request.Request(
            f"{asgi_server}/slack/interactions",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200 and answer.read() == b""
        row = page.locator("#signoff-qa")
        expect(row).to_contain_text("via Slack", timeout=12_000)
        expect(row).to_contain_text("qa")
        for kind, pk in queued:
            if kind == "reply":
                assert slack_reply_send(reply_id=pk) == "sent"
        assert response_url.bodies()[-1]["replace_original"] is True
        screenshot(page, "slack-signed-en")
        if SHOTS:
            panel.screenshot(path=f"{SHOTS}/slack-signed-panel-en.png")
        assert page.console_errors == []
    finally:
        api.stop()
        response_url.stop()
