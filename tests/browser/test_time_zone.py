"""A PM in Seoul signs in for the first time: the page offers the browser's zone (a static
script under the CSP, no inline code), one click saves it, and from then on the board says
its times in KST; a browser already in the server's zone is offered nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, expect

from accounts.preferences import saved_time_zone
from demo.seed import seed_demo

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser
BOARD = "/releases/ios-app/2.4.0/"
IN_KST = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d KST$")


def sign_in(browser: Browser, base: str, username: str, zone: str) -> Any:
    return log_in(browser, base, username, zone=zone)


def test_the_browsers_zone_is_offered_once_and_the_board_follows_it(
    asgi_server: str, browser: Browser
) -> None:
    seed_demo()
    pm = sign_in(browser, asgi_server, "pm", "Asia/Seoul")
    offer = pm.locator("#time-zone-offer")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("Show times in Asia/Seoul?")
    expect(pm.locator("a.zone")).to_have_text("UTC")
    screenshot(pm, "time-zone-offer")
    offer.get_by_role("button", name="Yes, use it").click()
    expect(pm.locator(".messages")).to_contain_text("Times are now shown in Asia/Seoul.")
    expect(pm.locator("#time-zone-offer")).to_have_count(0)
    expect(pm.locator("a.zone")).to_have_text("KST")
    assert saved_time_zone(get_user_model().objects.get(username="pm")) == "Asia/Seoul"
    pm.goto(asgi_server + BOARD)
    stamps = pm.locator("#gates time[title]")
    expect(stamps.first).to_have_attribute("title", IN_KST)
    pm.reload()
    expect(pm.locator("#time-zone-offer")).to_have_count(0)
    assert not pm.console_errors, pm.console_errors

    qa = sign_in(browser, asgi_server, "qa", "UTC")  # the server's zone: nothing to offer
    expect(qa.locator("#time-zone-offer")).to_be_hidden()
    assert not qa.console_errors, qa.console_errors
