"""The App Store panel in a real browser (issue 17 "Done when": screenshots of the store
panels in English and Korean): DevOps pauses Apple's phased release from the panel, the
fake App Store Connect takes it, the open board shows Apple's answer live. With
GONOGO_SCREENSHOTS set, the board is saved at laptop and phone width in both languages."""

from __future__ import annotations

import os
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from stores.appstore_services import appstore_change_send
from stores.appstore_sync import appstore_read
from stores.models import AppStoreChange

from ..stores.appstore_fixtures import asc, asc_queued, ios  # noqa: F401 (the store tests' fixtures)
from ..stores.appstore_servers import FakeAppStoreConnect
from .conftest import SHOTS, log_in, screenshot

pytestmark = pytest.mark.browser


def test_devops_pauses_apples_release_from_the_board(
    asgi_server: str, browser: Browser, request: pytest.FixtureRequest
) -> None:
    world: Any = request.getfixturevalue("ios")
    fake: FakeAppStoreConnect = request.getfixturevalue("asc")
    world.phase.day = 3
    appstore_read(release_id=world.release.pk)
    world.devops.set_password("demo")
    world.devops.save()
    world.qa.set_password("demo")
    world.qa.save()
    board = f"{asgi_server}/releases/{world.product.slug}/{world.release.version}/"

    page = log_in(browser, asgi_server, world.devops.username)
    page.goto(board)
    panel = page.locator("#store-appstore")
    expect(panel).to_contain_text("Releasing in phases · day 3 of 7")
    expect(panel.locator("li.stage-now").first).to_contain_text("day 3: 5 %")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
    panel.get_by_role("button", name="Pause on the App Store").click()
    expect(page.locator("#store-appstore")).to_contain_text("on its way to Apple", timeout=5000)
    change = AppStoreChange.objects.get(release=world.release)
    assert appstore_change_send(change_id=change.pk) == "done"  # as the worker would
    assert world.phase.state == "PAUSED" and len(fake.patches()) == 1
    # The open board hears of Apple's answer (live_notify "store") and re-fetches the panel.
    expect(page.locator("#store-appstore")).to_contain_text("Apple took it", timeout=8000)
    expect(page.locator("#store-appstore")).to_contain_text("Paused")
    expect(page.get_by_role("button", name="Resume on the App Store")).to_be_visible()
    page.context.close()

    for language in ("en", "ko"):
        for width in (1280, 390):
            viewer = log_in(browser, asgi_server, world.qa.username, language=language, width=width)
            viewer.goto(board)
            expect(viewer.locator("#store-appstore")).to_be_visible()
            assert viewer.evaluate("document.documentElement.scrollWidth") <= width + 1
            expect(viewer.get_by_role("button", name="Pause on the App Store")).to_have_count(0)
            if language == "en":
                expect(viewer.locator("#store-appstore")).to_contain_text("Only DevOps pauses")
            screenshot(viewer, f"appstore-board-{language}-{width}")
            if SHOTS:  # the panel alone, to look at
                viewer.locator("#stores").screenshot(
                    path=os.path.join(SHOTS, f"appstore-panel-{language}-{width}.png")
                )
            assert [e for e in viewer.console_errors if "status of 4" not in e] == []
            viewer.context.close()
