"""A refused htmx action shows its reason where it was asked: the 4xx answer is swapped in
by htmx's own responseHandling (templates/base.html), not reported as an error."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Browser, expect

from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick
from demo.seed import seed_demo
from releases.models import Release

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_a_stale_tick_shows_the_current_value_and_the_reason(asgi_server: str, browser: Browser) -> None:
    seed_demo()
    release = Release.objects.get(product__slug="ios-app", version="2.4.0")
    ChecklistItem.objects.filter(checklist__release=release).update(
        state="open", ticked_by=None, ticked_at=None
    )
    item = ChecklistItem.objects.filter(checklist__release=release).order_by("id").first()
    assert item is not None
    qa = log_in(browser, asgi_server, "qa")
    qa.goto(f"{asgi_server}/releases/ios-app/2.4.0/checklist/")
    expect(qa.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
    row = qa.locator(f"#item-{item.pk}")
    expect(row).to_have_attribute("data-state", "open")

    # Someone else passes it meanwhile; this page still holds the old revision.
    checklist_item_tick(item=item, state="passed", actor=get_user_model().objects.get(username="qa"))
    row.locator('button[data-key="p"]').click()  # a 409
    expect(row.locator("[role=alert]")).to_be_visible(timeout=12000)
    expect(row).to_have_attribute("data-state", "passed")
    expect(row).to_be_focused()  # refused: the keyboard stays on the item, not on the next
    assert not [e for e in qa.console_errors if e.startswith("htmx:")], qa.console_errors
