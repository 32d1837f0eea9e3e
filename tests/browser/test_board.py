"""A PM logs in, opens the demo release and reads why it may not ship yet."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(asgi_server: str) -> str:
    seed_demo()
    return asgi_server


def test_pm_reads_the_blockers_of_the_demo_release(demo_server: str, browser: Browser) -> None:
    page = log_in(browser, demo_server, "pm")
    card = page.locator(".release-card", has_text="ios-app 2.4.0")
    expect(card).to_contain_text("BLOCKED")
    screenshot(page, "dashboard-en")
    card.get_by_role("link", name="ios-app 2.4.0").click()
    expect(page.locator("#verdict h2")).to_contain_text("BLOCKED")
    texts = page.locator("#verdict .blockers li").all_inner_texts()
    assert any("“Contract tests” failed" in t for t in texts), texts
    assert any("still running" in t for t in texts), texts
    assert any("QA has not signed off yet" in t for t in texts), texts
    # The reason is one click away: the blocker links to the failing gate's row.
    page.locator("#verdict .blockers a", has_text="Contract tests").click()
    expect(page).to_have_url(f"{demo_server}/releases/ios-app/2.4.0/#gate-contract")
    row = page.locator("#gate-contract")
    expect(row).to_contain_text("Failed")
    expect(row).to_contain_text("131 passed, 1 failed")
    expect(row.get_by_role("link", name="Open the CI run")).to_have_attribute(
        "href", "https://ci.example.com/runs/pact-2291"
    )
    expect(page.get_by_role("button", name="Call Go")).to_be_disabled()
    screenshot(page, "board-en")
    assert page.console_errors == []  # no CSP violation, no missing file


def test_korean_board(demo_server: str, browser: Browser) -> None:
    page = log_in(browser, demo_server, "pm", "ko")
    page.goto(f"{demo_server}/releases/ios-app/2.4.0/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#verdict h2")).to_contain_text("출시 불가")
    expect(page.locator("#verdict")).to_contain_text("계약 테스트")
    screenshot(page, "board-ko")
    page.goto(f"{demo_server}/")
    screenshot(page, "dashboard-ko")
    phone = log_in(browser, demo_server, "qa", "ko", width=390)
    phone.goto(f"{demo_server}/releases/ios-app/2.4.0/")
    expect(phone.locator("#verdict h2")).to_contain_text("출시 불가")
    screenshot(phone, "board-ko-phone")
    assert page.console_errors == [] and phone.console_errors == []


def test_works_without_javascript(demo_server: str, browser: Browser) -> None:
    """Forms post and redirect back: the lead asks for a waiver with JavaScript off."""
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{demo_server}/accounts/login/?next=/releases/ios-app/2.4.0/")
    page.fill("#id_username", "backend")
    page.fill("#id_password", "demo")
    page.click("button[type=submit].primary")
    row = page.locator("#gate-contract")
    row.locator("summary", has_text="Ask for a waiver").click()
    row.locator("textarea[name=reason]").fill("Pact broker outage; contract verified by hand")
    row.locator("textarea[name=risk]").fill("Search may return 500 for old clients")
    row.locator("textarea[name=mitigation]").fill("Feature flag off; monitor 5xx")
    row.get_by_role("button", name="Send to the PM/PO").click()
    expect(page).to_have_url(f"{demo_server}/releases/ios-app/2.4.0/#waivers")
    expect(page.locator("#waivers")).to_contain_text("Pact broker outage")
    expect(page.locator(".messages")).to_contain_text("The waiver request is sent")
