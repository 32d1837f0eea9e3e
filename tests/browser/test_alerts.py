"""Alert channels in a browser: DevOps opens them from the top bar, presses Send test on a
Slack channel, and the page shows the channel's answer as it comes (a real Celery worker
sends it to a local Slack that refuses the first attempt); the delivery log shows both
attempts, and an alert sent afterwards. In English and in Korean."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo
from notifications.models import Channel, Delivery
from releases.events import event_emit
from releases.models import Release

from ..notifications.channel_servers import Answer, FakeSlack
from ..test_celery import broker
from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser

HALT = {
    "halt": {
        "kind": "breach",
        "metric": "error_rate",
        "value": 0.09,
        "bound": 0.01,
        "minimum": False,
        "source": "prometheus",
        "sampled_at": "2026-12-01T07:35:00+00:00",
    },
    "automatic": True,
}


@pytest.mark.parametrize("language", ["en", "ko"])
def test_send_test_shows_the_channels_answer_live(
    language: str,
    asgi_server: str,
    browser: Browser,
    redis_url: str,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.GONOGO_ALERT_RETRY_BASE_SECONDS = 0.5
    seed_demo()
    slack = FakeSlack([Answer(500, b"rollup_error")]).start()
    try:
        monkeypatch.setenv("GONOGO_DEMO_SLACK_URL", slack.url)
        Channel.objects.update_or_create(
            slug="ops-slack", defaults={"kind": "slack", "url_env": "GONOGO_DEMO_SLACK_URL", "active": True}
        )
        release = Release.objects.select_related("product").get(product__slug="ios-app", version="2.4.0")
        with broker(redis_url):
            page = log_in(browser, asgi_server, "devops", language)
            page.locator("nav a[href='/channels/']").click()
            expect(page.locator("#channels")).to_contain_text("ops-slack")
            expect(page.locator("#channels")).to_contain_text("GONOGO_DEMO_SLACK_URL")
            screenshot(page, f"channels-{language}")
            page.locator("#channels a", has_text="ops-slack").click()
            send = page.locator("form[action$='/test/'] button[type=submit]")
            expect(send).to_have_text("Send test" if language == "en" else "테스트 알림 보내기")
            send.click()
            delivered = "Delivered at" if language == "en" else "전송 완료"
            expect(page.locator("#test-outcome")).to_contain_text(delivered, timeout=20_000)
            expect(page.locator("#test-outcome")).to_contain_text("devops")
            test = Delivery.objects.get(event="channel.test")
            row = page.locator(f"#delivery-{test.pk}")
            row.locator("summary").click()
            expect(row).to_contain_text("rollup_error")
            expect(row).to_contain_text("HTTP 500")
            event_emit("rollout.halted", release=release, data=HALT)
            slack.wait_for(2)
            page.reload()
            page.locator(f"#delivery-{test.pk} summary").click()
            expect(page.locator("#deliveries")).to_contain_text("rollout.halted")
            screenshot(page, f"channel-{language}")
        assert slack.received and page.console_errors == []
        assert test.attempt_log.count() == 2
    finally:
        slack.stop()
