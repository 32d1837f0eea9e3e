"""Google Play driven from the board, end to end (issue 17 "Done when"): DevOps starts
the rollout and advances it 1 → 5 % on the board, and the fake Play's production track
says 5 %; a health sample out of bounds (POST …/health, as monitoring sends it) halts the
rollout, and the fake Play's track says `halted`; the open board (no reload) shows what
Play says at each step.

Real parts: the ASGI server, a Celery worker on Redis sending the steps to the fake
Google token endpoint and Android Publisher (tests/stores/play_servers.py, which verify
the JWT and the bodies), PostgreSQL, Chromium.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Browser, expect

from board.decisions import release_decide
from core.outbound import http_request
from integrations.tokens import token_issue
from releases.models import Release
from stores.models import PlaySource
from stores.play_client import tokens_forget

from ..releases.builders import build_world
from ..stores.conftest import CLIENT_EMAIL, KEY_ID, PACKAGE, key_json
from ..stores.play_servers import FakeGoogleToken, FakePlay
from ..test_celery import broker
from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def google(monkeypatch: pytest.MonkeyPatch, settings: Any) -> Iterator[tuple[FakeGoogleToken, FakePlay]]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = FakeGoogleToken(public_key=key.public_key(), client_email=CLIENT_EMAIL, key_id=KEY_ID).start()
    play = FakePlay(token, package=PACKAGE, version_codes=[]).start()
    monkeypatch.setenv("GONOGO_TEST_PLAY_KEY", key_json(key, token.token_uri))
    settings.GONOGO_PLAY_API_URL = play.url
    tokens_forget()
    yield token, play
    tokens_forget()
    token.stop()
    play.stop()


def wait_until(check: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never: {what}")


def test_the_board_drives_plays_track_and_a_breach_halts_it(
    asgi_server: str,
    browser: Browser,
    make_user: Any,
    google: tuple[FakeGoogleToken, FakePlay],
    redis_url: str,
) -> None:
    token_server, play = google
    world = build_world(make_user, ready=True)
    product, release = world.product, world.release
    code = str(release.build_number)
    play.uploaded.add(code)
    PlaySource.objects.create(product=product, package_name=PACKAGE, key_env="GONOGO_TEST_PLAY_KEY")
    world.devops.set_password("demo")
    world.devops.save()
    release_decide(release=release, outcome="go", actor=world.pm, rationale="All gates green.")
    api_token = token_issue(name="monitoring", product=product, scopes=["metrics"])[1]
    health_url = f"{asgi_server}/api/v1/releases/{product.slug}/{release.version}/health"

    def sample(**values: float) -> None:
        answer = http_request(
            "POST", health_url, headers={"Authorization": f"Bearer {api_token}"}, json_body=values
        )
        assert answer.status in (200, 201), answer.text()

    board = f"{asgi_server}/releases/{product.slug}/{release.version}/"
    with broker(redis_url):
        page = log_in(browser, asgi_server, world.devops.username)
        page.goto(board)
        expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
        panel = page.locator("#store-play")
        expect(panel).to_contain_text(PACKAGE)
        page.click("button[name=step][value=start]")
        expect(page.locator("#verdict")).to_have_attribute("data-phase", "rolling_out", timeout=5000)
        wait_until(lambda: (play.release(code) or {}).get("userFraction") == 0.01, "Play at 1 %")
        expect(panel).to_have_attribute("data-play-percent", "1", timeout=8000)

        sample(error_rate=0.001, p95_latency_ms=200, rate_429=0.0)
        page.reload()  # the advance button is read with the new sample's health
        page.click("button[name=step][value=advance]")
        expect(page.locator("#operations .notice")).to_contain_text("The rollout is at 5 %.", timeout=5000)
        wait_until(lambda: (play.release(code) or {}).get("userFraction") == 0.05, "Play at 5 %")
        assert play.release(code) == {"versionCodes": [code], "status": "inProgress", "userFraction": 0.05}
        expect(panel).to_have_attribute("data-play-percent", "5", timeout=8000)
        expect(page.locator("#play-says")).to_contain_text("5 %")
        expect(page.locator("#play-last-step")).to_contain_text("advance to 5 %")
        expect(panel).to_have_attribute("data-drift", "no")
        screenshot(page, "play-rolling-out-5-en")

        # Monitoring sends a sample out of bounds: the rollout halts, and so does Play.
        sample(error_rate=0.09, p95_latency_ms=200, rate_429=0.0)
        expect(page.locator("#verdict")).to_have_attribute("data-phase", "halted", timeout=8000)
        wait_until(lambda: (play.release(code) or {}).get("status") == "halted", "Play halted")
        assert play.release(code) == {"versionCodes": [code], "status": "halted", "userFraction": 0.05}
        expect(panel).to_have_attribute("data-play-status", "halted", timeout=8000)
        expect(page.locator("#play-says")).to_contain_text("halted at 5 %")
        expect(page.locator("#play-last-step")).to_contain_text("halt at 5 %")
        assert Release.objects.get(pk=release.pk).state == "halted"
        screenshot(page, "play-halted-en")

        # Every token came from a verified JWT; every step was one edit committed.
        assert token_server.claims and all(c["iss"] == CLIENT_EMAIL for c in token_server.claims)
        assert [c["releases"][0]["status"] for c in play.commits] == ["inProgress", "inProgress", "halted"]

        # Someone resumes it in Play Console: "Read Play now" shows the drift in words.
        play.console_set({"versionCodes": [code], "status": "inProgress", "userFraction": 0.2})
        with page.expect_response(lambda r: "/stores/play/read/" in r.url) as read:
            page.click("#store-play button[name=play][value=read]")
        assert read.value.status == 200
        expect(page.locator("#play-drift")).to_contain_text(
            "Google Play says 20 %, the board says halted at 5 %.", timeout=10000
        )
        expect(panel).to_have_attribute("data-drift", "yes")
        screenshot(page, "play-drift-en")
        assert page.console_errors == []

        korean = log_in(browser, asgi_server, world.devops.username, language="ko")
        korean.goto(board)
        expect(korean.locator("#store-play")).to_have_attribute("data-drift", "yes")
        screenshot(korean, "play-drift-ko")
