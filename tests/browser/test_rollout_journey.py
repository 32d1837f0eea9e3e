"""After Go, end to end (issue 14 "Done when"): DevOps starts the rollout on the board;
a fake Prometheus starts answering an error rate over the bound; within one sampling
interval the rollout halts and the open board (no reload) says why in words; the fake
Slack gets one message though it answered the first attempt with 500; the fake
PagerDuty gets a trigger; resume is refused; the rollback with its minutes resolves the
PagerDuty incident.

Real parts: the ASGI server, a Celery worker on Redis sending the alerts, the beat's
rollout task run every half second (as `celery beat` would, faster), PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, expect

from accounts.models import Role
from board.decisions import release_decide
from board.tasks import rollout_tick_task
from notifications.models import Channel
from operations.models import HealthSource
from releases.models import Release

from ..notifications.channel_servers import Answer, FakePagerDuty, FakeSlack
from ..operations.monitoring_servers import FakePrometheus, FakeSentry, Reply, sessions, vector
from ..releases.builders import build_world
from ..test_celery import broker
from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser
INTERVAL = 1  # seconds between two samples of the fake Prometheus


class Beat:
    """Runs the rollout tick every `every` seconds in a thread, as `celery beat` does."""

    def __init__(self, every: float) -> None:
        self.every, self.stopped = every, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        try:
            while not self.stopped.wait(self.every):
                rollout_tick_task()
        finally:
            connection.close()

    def __enter__(self) -> Beat:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)


@pytest.fixture
def fakes() -> Iterator[tuple[FakePrometheus, FakeSlack, FakePagerDuty]]:
    prometheus = FakePrometheus().start()
    slack = FakeSlack(answers=[Answer(500, b"rollup_error")]).start()
    pagerduty = FakePagerDuty(routing_key="R0UT1NGKEY0000000000000000000000").start()
    yield prometheus, slack, pagerduty
    for server in (prometheus, slack, pagerduty):
        server.stop()


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    server = FakeSentry(token="sntrys_journey").start()
    yield server
    server.stop()


def test_a_breach_halts_the_rollout_alerts_and_pages(
    asgi_server: str,
    browser: Browser,
    make_user: Any,
    fakes: tuple[FakePrometheus, FakeSlack, FakePagerDuty],
    sentry: FakeSentry,
    redis_url: str,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prometheus, slack, pagerduty = fakes
    settings.GONOGO_ALERT_RETRY_BASE_SECONDS = 0.2
    monkeypatch.setenv("GONOGO_OPS_SLACK_URL", slack.url)
    monkeypatch.setenv("GONOGO_PD_ROUTING_KEY", pagerduty.routing_key)
    monkeypatch.setenv("GONOGO_PD_URL", pagerduty.url)
    world = build_world(make_user, ready=True)
    product, release = world.product, world.release
    devops = world.devops
    devops.set_password("demo")
    devops.save()
    release_decide(release=release, outcome="go", actor=world.pm, rationale="All gates green.")
    product.health_crash_free_sessions = 0.995
    product.save(update_fields=["health_crash_free_sessions"])
    monkeypatch.setenv("GONOGO_JOURNEY_SENTRY_TOKEN", "sntrys_journey")
    HealthSource.objects.create(
        product=product,
        kind="sentry",
        url=sentry.url,
        token_env="GONOGO_JOURNEY_SENTRY_TOKEN",
        interval_seconds=INTERVAL,
        org="acme",
        project="1234",
        release_template="{product}@{version}+{build}",
    )
    sentry.answers[f"{product.slug}@{release.version}+{release.build_number}"] = Reply(200, sessions(0.999))
    HealthSource.objects.create(
        product=product,
        kind="prometheus",
        url=prometheus.url,
        interval_seconds=INTERVAL,
        queries={"error_rate": 'sum(rate(http_requests_total{code=~"5..",version="{version}"}[5m]))'},
    )
    Channel.objects.create(
        slug="ops-slack", kind="slack", url_env="GONOGO_OPS_SLACK_URL", events=["rollout.halted"]
    )
    Channel.objects.create(
        slug="oncall", kind="pagerduty", routing_key_env="GONOGO_PD_ROUTING_KEY", url_env="GONOGO_PD_URL"
    )
    prometheus.rules["http_requests_total"] = Reply(200, vector("0.002"))
    board = f"{asgi_server}/releases/{product.slug}/{release.version}/"

    with broker(redis_url), Beat(0.5):
        page = log_in(browser, asgi_server, devops.username)
        page.goto(board)
        expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
        page.click("button[name=step][value=start]")
        expect(page.locator("#verdict")).to_have_attribute("data-phase", "rolling_out", timeout=5000)
        expect(page.locator("#rollout-health")).to_have_attribute("data-health", "in_bounds", timeout=8000)
        assert f'version="{release.version}"' in prometheus.queries[-1]  # {version} filled in
        # Both sources in bounds: Prometheus's error rate and Sentry's crash-free sessions.
        expect(page.locator("#bound-crash_free_sessions")).to_have_attribute("data-status", "ok")
        expect(page.locator("#bound-crash_free_sessions")).to_contain_text("Sentry")
        assert all(s.headers.get("authorization") == "Bearer sntrys_journey" for s in sentry.seen)
        screenshot(page, "journey-rolling-out-en")

        prometheus.rules["http_requests_total"] = Reply(200, vector("0.09"))
        breach_at = time.monotonic()
        why = page.locator("#halt-why")
        expect(why).to_contain_text("error rate 9.0 % is over the bound 1.0 % — Prometheus", timeout=8000)
        took = time.monotonic() - breach_at
        assert took < INTERVAL + 2.5, f"the halt took {took:.1f} s to show (interval {INTERVAL} s)"
        assert Release.objects.get(pk=release.pk).state == "halted"
        screenshot(page, "journey-halted-en")

        (message,) = slack.wait_for(1)
        assert len(slack.requests) == 2  # the first attempt got a 500, the retry got "ok"
        assert "error rate 9.0 %" in message.body.decode()
        triggers = [r.json() for r in pagerduty.wait_for(1) if r.json()["event_action"] == "trigger"]
        assert triggers and triggers[0]["dedup_key"] == f"gonogo/{product.slug}/{release.version}"

        # At once the health at the halt stands (out of bounds); the next samples, taken
        # while halted, are still out of bounds: resume is refused.
        expect(page.locator("#rollout-health")).to_have_attribute("data-health", "breach")
        expect(page.locator("#rollout-health h4")).to_contain_text("Health since the halt", timeout=8000)
        expect(page.locator("#rollout-health")).to_have_attribute("data-health", "breach", timeout=8000)
        # (The refusal's panel may be repainted by the next sample's refresh within a second:
        # the answer itself is what is checked.)
        with page.expect_response(
            lambda r: r.url.endswith("/rollout/") and r.request.method == "POST"
        ) as refused:
            page.click("button[name=step][value=resume]")
        assert refused.value.status == 409
        assert "out of bounds" in refused.value.text()
        assert Release.objects.get(pk=release.pk).state == "halted"

        page.fill("input[name=minutes]", "12")
        page.click("button[name=step][value=roll_back]")
        expect(page.locator("#verdict")).to_have_attribute("data-phase", "rolled_back", timeout=5000)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            actions = [r.json()["event_action"] for r in pagerduty.received]
            if "resolve" in actions:
                break
            time.sleep(0.1)
        assert "resolve" in actions, f"PagerDuty got {actions}"
        resolve = next(r.json() for r in pagerduty.received if r.json()["event_action"] == "resolve")
        assert resolve["dedup_key"] == triggers[0]["dedup_key"]
        screenshot(page, "journey-rolled-back-en")
        # The refused resume answers 409, which the browser logs; nothing else may be logged.
        assert [e for e in page.console_errors if "status of 409" not in e] == []


def test_beat_schedules_the_rollout_tick() -> None:
    from gonogo.celery import app

    assert "board.rollout_tick" in {e["task"] for e in app.conf.beat_schedule.values()}
    assert "board.rollout_tick" in app.tasks
    assert Role.DEVOPS  # the rollout is DevOps' (tests/operations/test_rollout.py)
