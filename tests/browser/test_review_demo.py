"""The weekly review and its trends on the demo (issue 15, items 6 and 7): the twelve weeks
`seed_demo` writes fill the trends; at 390 px nothing scrolls sideways, the rollback tables
keep their headings and no bar label meets the target line; an action item added on one
screen shows on another without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from demo.seed import seed_demo

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser

OVERLAPS = """() => {
  // Each chart's bar labels (text) against its target line and the target's own label.
  const hits = [];
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  document.querySelectorAll("svg.chart").forEach((svg) => {
    const line = svg.querySelector("line.target");
    if (!line) { return; }
    const legend = svg.querySelector("text.target-label").getBoundingClientRect();
    const across = line.getBoundingClientRect();
    svg.querySelectorAll("text:not(.target-label)").forEach((t) => {
      const box = t.getBoundingClientRect();
      const band = {left: box.left, right: box.right, top: across.top - 1, bottom: across.bottom + 1};
      if (meet(box, legend) || meet(box, band)) { hits.push(t.textContent); }
    });
  });
  return hits;
}"""


WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter((e) => !e.parentElement.closest(".scroll"))
  .slice(0, 5).map((e) => e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right))"""


def sideways(page: Page) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def test_the_trends_on_the_demo_at_laptop_and_phone_width(asgi_server: str, browser: Browser) -> None:
    seed_demo()
    for language, width, suffix in (
        ("en", 1280, "en"),
        ("en", 390, "en-390"),
        ("ko", 1280, "ko"),
        ("ko", 390, "ko-390"),
    ):
        page = log_in(browser, asgi_server, "pm", language=language, width=width)
        page.goto(f"{asgi_server}/reviews/")
        page.locator(".board-links a").last.click()  # 12-week trends
        expect(page.locator("#trend-failures tbody tr[data-gate]")).not_to_have_count(0)
        expect(page.locator("#trend-flaky tbody tr[data-gate]")).not_to_have_count(0)
        expect(page.locator("#trend-rollback .trend-body")).to_have_count(3)  # every demo product
        expect(page.locator("#trend-rehearsals tbody tr")).not_to_have_count(0)
        deploys = page.locator("#dora-table tbody tr td:nth-child(2)").all_inner_texts()
        assert len(deploys) == 12 and sum(int(n) for n in deploys) >= 20, deploys
        assert sideways(page) == 0, (suffix, sideways(page), page.evaluate(WIDEST))
        for heading in page.locator("#trend-rollback .trend-body thead").all():
            expect(heading).to_be_visible()  # the rollback tables keep their headings on a phone
        assert page.evaluate(OVERLAPS) == [], suffix
        screenshot(page, f"trends-demo-{suffix}")
        assert not page.console_errors, page.console_errors
        page.context.close()


def test_the_review_on_the_demo_is_live_for_every_attendee(asgi_server: str, browser: Browser) -> None:
    seed_demo()
    pm = log_in(browser, asgi_server, "pm")
    qa = log_in(browser, asgi_server, "qa", width=390)
    for page in (pm, qa):
        page.goto(f"{asgi_server}/reviews/")
        expect(page.locator("html")).to_have_attribute("data-live", "open")
    # Last week's review, as the demo left it: ended, with its minutes and how long it ran.
    pm.locator(".board-links a").first.click()
    expect(pm.locator("#timer-held")).to_contain_text("The review ended")
    expect(pm.locator("#q2 tbody tr")).not_to_have_count(0)
    screenshot(pm, "review-last-week-en")
    pm.go_back()

    pm.locator("#q4 input[name=title]").fill("Page the on-call DevOps when a halt lasts 30 minutes")
    pm.locator("#q4").get_by_role("button", name="Add").click()
    expect(qa.locator("#q4")).to_contain_text("Page the on-call DevOps")  # no reload on QA's screen
    row = pm.locator("#q1 tr", has_text="Contract tests")
    row.get_by_role("button", name="Create action item").click()
    expect(pm.locator("#q1 tr", has_text="Contract tests")).to_contain_text("Action item created")
    expect(qa.locator("#q1 tr", has_text="Contract tests")).to_contain_text("Action item created")
    expect(qa.locator("#q2")).to_contain_text("Fix “Contract tests”")
    expect(qa.get_by_role("button", name="Start the 15 minutes")).to_have_count(0)
    assert sideways(qa) == 0
    screenshot(qa, "review-live-qa-390")
    assert not pm.console_errors and not qa.console_errors, (pm.console_errors, qa.console_errors)
