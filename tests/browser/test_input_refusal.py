"""A NUL character typed into a board form: the htmx action is refused and the page says
why, above the page as a plain form's refusal is, and the panel that asked stays."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo
from releases.models import Decision

from .conftest import log_in

pytestmark = pytest.mark.browser
BOARD = "/releases/ios-app/2.4.0/"


def test_a_nul_in_the_rationale_is_refused_on_the_page(asgi_server: str, browser: Browser) -> None:
    seed_demo()
    pm = log_in(browser, asgi_server, "pm")
    pm.goto(asgi_server + BOARD)
    pm.locator("#rationale").fill("Not yet\x00 ready")
    pm.get_by_role("button", name="Call No-Go").click()
    refusal = pm.locator("#decision > ul.messages[role=alert]")  # where the PM is looking
    expect(refusal).to_contain_text("“rationale” contains an invisible control character")
    expect(pm.locator("#decision")).to_be_visible()  # the panel was not replaced
    expect(pm.locator("#rationale")).to_be_visible()
    assert not Decision.objects.filter(release__product__slug="ios-app", release__version="2.4.0").exists()
