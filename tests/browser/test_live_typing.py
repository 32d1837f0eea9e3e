"""A live refresh never throws away what someone is typing: the panel they type in waits
until the focus leaves it, then catches up (static/js/live.js)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from gates.services import gate_result_record

from ..releases.builders import build_world
from .conftest import log_in

pytestmark = pytest.mark.browser


def test_the_decision_panel_waits_while_the_pm_types(
    asgi_server: str, browser: Browser, make_user: Any
) -> None:
    world = build_world(make_user, ready=False)
    world.pm.set_password("demo")
    world.pm.save()
    page = log_in(browser, asgi_server, world.pm.username)
    page.goto(f"{asgi_server}/releases/{world.product.slug}/{world.release.version}/")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
    blockers = page.locator("#go-disabled")
    before = blockers.inner_text()
    page.locator("#rationale").fill("Half of my reasons")
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="ci-1")
    expect(page.locator("#gates")).to_contain_text("Passed", timeout=5000)  # the other panels moved on
    expect(page.locator("#decision")).to_have_attribute("data-live-pending", "1")
    expect(page.locator("#rationale")).to_have_value("Half of my reasons")  # not thrown away
    assert blockers.inner_text() == before
    page.locator("#gates h2").click()  # the focus leaves the panel: it catches up
    expect(page.locator("#go-disabled")).not_to_have_text(before, timeout=5000)
    assert page.console_errors == []
