"""QA ticks the checklist with the keyboard alone; the PM's board, open in another
browser, turns BLOCKED by the critical defect QA files, within a second, and clears when
it is resolved."""

from __future__ import annotations

import itertools
import time

import pytest
from playwright.sync_api import Browser, Page, expect

from checklists.models import ChecklistItem, Defect
from demo.seed import seed_demo
from releases.models import Release

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser
LIVE_SECONDS = 1.0
CHECKLIST = "/releases/ios-app/2.4.0/checklist/"
BOARD = "/releases/ios-app/2.4.0/"
BLOCKER = '#verdict li[data-code="critical_defect_open"]'


def open_items(release: Release) -> list[ChecklistItem]:
    return list(
        ChecklistItem.objects.filter(checklist__release=release, state="open").order_by(
            "checklist_id", "section_position", "position", "id"
        )
    )


def live(page: Page) -> None:
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)


def test_keyboard_ticking_and_a_critical_defect_block_the_board_live(
    asgi_server: str, browser: Browser
) -> None:
    seed_demo()
    release = Release.objects.get(product__slug="ios-app", version="2.4.0")
    ChecklistItem.objects.filter(checklist__release=release).update(
        state="open", ticked_by=None, ticked_at=None
    )
    Defect.objects.filter(release=release, severity="critical").delete()
    items = [i for i in open_items(release)][:10]
    assert len(items) == 10

    pm = log_in(browser, asgi_server, "pm")
    pm.goto(asgi_server + BOARD)
    live(pm)
    expect(pm.locator(BLOCKER)).to_have_count(0)

    qa = log_in(browser, asgi_server, "qa")
    qa.goto(asgi_server + CHECKLIST)
    live(qa)
    qa.keyboard.press("j")
    expect(qa.locator(f"#item-{items[0].pk}")).to_be_focused()
    for item, following in itertools.pairwise(items):
        qa.keyboard.press("p")
        expect(qa.locator(f"#item-{item.pk}")).to_have_attribute("data-state", "passed")
        expect(qa.locator(f"#item-{following.pk}")).to_be_focused()
    # Each tick's answer carries its section's count, swapped in out of band.
    first = items[0]
    section = ChecklistItem.objects.filter(
        checklist_id=first.checklist_id, section=first.section, section_position=first.section_position
    )
    done = section.exclude(state="open").count()
    count = qa.locator(f"#count-{first.checklist_id}-{first.section_position}")
    expect(count).to_contain_text(f"{done} of {section.count()} checked")
    last = items[9]
    qa.keyboard.press("f")
    expect(qa.locator(f"#item-{last.pk}")).to_have_attribute("data-state", "failed")
    title = qa.locator(f"#item-{last.pk} [data-defect-title]")
    expect(title).to_be_focused()
    qa.keyboard.type("App crashes at checkout")
    qa.keyboard.press("Tab")
    qa.keyboard.press("ArrowUp")  # severity: major → critical
    qa.keyboard.press("Tab")
    start = time.monotonic()
    qa.keyboard.press("Enter")  # submits the defect form from the tracker-link field
    expect(pm.locator(BLOCKER)).to_have_count(1, timeout=12000)
    elapsed = time.monotonic() - start
    assert elapsed < LIVE_SECONDS, f"the PM's board showed the defect after {elapsed:.2f}s"
    expect(pm.locator(BLOCKER)).to_contain_text("App crashes at checkout")
    expect(qa.locator(f"#item-{last.pk}")).to_contain_text("App crashes at checkout")
    assert Defect.objects.get(release=release, severity="critical").checklist_item_id == last.pk
    expect(qa.locator("#checklist")).to_contain_text("10 of")
    screenshot(qa, "checklist-en")
    screenshot(pm, "board-blocked-by-defect-en")

    row = qa.locator("#defects tr", has_text="App crashes at checkout")
    row.locator("input[name=resolution]").fill("Fixed in build 1241.")  # required: it was critical
    row.get_by_role("button", name="Resolve").click()
    expect(pm.locator(BLOCKER)).to_have_count(0, timeout=5000)
    assert not qa.console_errors and not pm.console_errors, (qa.console_errors, pm.console_errors)


def test_checklist_in_korean_on_a_laptop_and_a_phone(asgi_server: str, browser: Browser) -> None:
    seed_demo()
    for language, width, name in (
        ("ko", 1280, "checklist-ko"),
        ("ko", 390, "checklist-ko-phone"),
        ("en", 390, "checklist-en-phone"),
    ):
        page = log_in(browser, asgi_server, "qa", language=language, width=width)
        page.goto(asgi_server + CHECKLIST)
        expect(page.locator("h1")).to_contain_text("QA 체크리스트" if language == "ko" else "QA checklist")
        if language == "ko":
            expect(page.locator(".cl-tick").first).to_contain_text("통과")
        # Nothing wider than the screen: the buttons wrap on a phone.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than the screen"
        screenshot(page, name)
        page.context.close()
