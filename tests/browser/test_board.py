"""A PM logs in, opens the demo release and reads why it may not ship yet."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from releases.demo import seed_demo

from .conftest import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_server(live_server: Any, transactional_db: Any) -> str:
    seed_demo()
    return str(live_server.url)


def log_in(browser: Browser, base: str, username: str, language: str, width: int = 1280) -> Any:
    context = browser.new_context(
        locale=language,
        extra_http_headers={"Accept-Language": language},
        viewport={"width": width, "height": 900},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/")
    expect(page).to_have_url(f"{base}/accounts/login/?next=/")
    page.fill("#id_username", username)
    page.fill("#id_password", "demo")
    page.click("button[type=submit].primary")
    expect(page).to_have_url(f"{base}/")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def test_pm_reads_the_blockers_of_the_demo_release(demo_server: str, browser: Browser) -> None:
    page = log_in(browser, demo_server, "pm", "en")
    card = page.locator(".release-card", has_text="ios-app 2.4.0")
    expect(card).to_contain_text("BLOCKED")
    screenshot(page, "dashboard-en")
    card.get_by_role("link", name="ios-app 2.4.0").click()
    expect(page.locator("#verdict h2")).to_contain_text("BLOCKED")
    blockers = page.locator("#verdict .blockers li")
    texts = blockers.all_inner_texts()
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
    screenshot(page, "board-en")
    assert page.errors == []  # type: ignore[attr-defined]  # no CSP violation, no 404


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
