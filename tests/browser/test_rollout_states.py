"""The board in each state after Go, in English and Korean, at laptop and phone width:
what a PM sees (issue 14 "Done when": screenshots of go, rolling out with health,
halted by a breach, rolled back, released). The words are checked; with
GONOGO_SCREENSHOTS set, every page is also saved to look at."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from board.decisions import release_decide
from board.rollout import release_roll_back, release_rollout_start
from operations.models import HealthSource
from operations.services import health_sample_record
from releases.models import Release

from ..releases.builders import build_world, healthy, roll_out_fully
from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser

# state → what the banner must say, per language
BANNER = {
    "go": {"en": "Go called by", "ko": "DevOps"},
    "rolling_out": {"en": "ROLLING OUT: stage 1 of 4, 1 %", "ko": "1 %"},
    "halted": {"en": "error rate 9.0 % is over the bound 1.0 % — Prometheus", "ko": "Prometheus"},
    "rolled_back": {"en": "It took 12 min (target 15 min).", "ko": "12"},
    "released": {"en": "Fully rolled out at", "ko": "100 %"},
}


def to_state(world: Any, state: str) -> Release:
    release_decide(release=world.release, outcome="go", actor=world.pm, rationale="All gates green.")
    if state == "go":
        return world.release
    HealthSource.objects.create(
        product=world.product, kind="prometheus", url="http://127.0.0.1:9", queries={}
    )
    release = release_rollout_start(release=world.release, actor=world.devops)
    if state == "released":
        HealthSource.objects.filter(product=world.product).delete()
        return roll_out_fully(release, world.devops)
    health_sample_record(release=release, source="prometheus", error_rate=0.002, p95_latency_ms=310)
    healthy(release)
    if state == "rolling_out":
        return release
    health_sample_record(release=release, source="prometheus", error_rate=0.09, p95_latency_ms=420)
    if state == "halted":
        return release
    return release_roll_back(release=release, actor=world.devops, minutes="12", notes="flag off first")


@pytest.mark.parametrize("state", list(BANNER))
def test_the_board_after_go_in_each_state(
    asgi_server: str, browser: Browser, make_user: Any, state: str
) -> None:
    world = build_world(make_user, ready=True)
    world.pm.set_password("demo")
    world.pm.save()
    release = to_state(world, state)
    assert Release.objects.get(pk=release.pk).state == state
    board = f"{asgi_server}/releases/{world.product.slug}/{world.release.version}/"
    for language in ("en", "ko"):
        for width in (1280, 390):
            page = log_in(browser, asgi_server, world.pm.username, language=language, width=width)
            page.goto(board)
            verdict = page.locator("#verdict")
            expect(verdict).to_have_attribute("data-phase", state)
            expect(verdict).to_contain_text(BANNER[state][language])
            if language == "ko":
                expect(verdict).not_to_contain_text("Next:")
            if state in ("rolling_out", "halted"):
                expect(page.locator("#rollout-health table.bounds")).to_be_visible()
            if state in ("released", "rolled_back"):
                expect(page.locator("#rollout-summary")).to_be_visible()
            # Nothing scrolls sideways on a phone.
            assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
            screenshot(page, f"board-{state}-{language}-{width}")
            assert [e for e in page.console_errors if "status of 4" not in e] == []
            page.context.close()
