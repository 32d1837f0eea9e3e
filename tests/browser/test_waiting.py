"""Issue 15 "Done when": each role starts from the dashboard's "Waiting for you", clicks
its entry, does that role's pending work there, and sees the entry gone, without typing
a URL (the dashboard is the only page opened by address). The PM/PO's second tab shows
the entry leave live, without a reload."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from accounts.models import Role
from board.decisions import release_decide
from gates.services import gate_result_record, waiver_request

from ..releases.builders import World, build_world, healthy
from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def _demo_passwords(*users: Any) -> None:
    for user in users:
        user.set_password("demo")
        user.save(update_fields=["password"])


def _world(make_user: Callable[..., Any], *, ready: bool) -> World:
    world = build_world(make_user, ready=ready)
    _demo_passwords(world.pm, world.qa, world.lead, world.devops)
    return world


def _entry(page: Page, text: str) -> Any:
    """The entry under "Waiting for you" that says `text`."""
    waiting = page.locator("#waiting")
    expect(waiting.locator("h2")).to_have_text("Waiting for you")
    entry = waiting.locator("li", has_text=text)
    expect(entry).to_have_count(1)
    return entry


def _back_to_the_dashboard(page: Page) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Dashboard").click()
    expect(page.locator("#waiting h2")).to_be_visible()


def test_the_pm_approves_the_waiver_waiting_for_them(
    asgi_server: str, browser: Browser, make_user: Callable[..., Any]
) -> None:
    world = _world(make_user, ready=False)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="e2e-9")
    waiver = waiver_request(
        release=world.release,
        gate=world.gates[0],
        actor=world.lead,
        reason="Flaky stub, verified by hand",
        risk="Search may 500 for old clients",
        mitigation="Feature flag off",
    )
    watcher = log_in(browser, asgi_server, world.pm.username)  # a second tab, left open
    expect(watcher.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
    page = log_in(browser, asgi_server, world.pm.username)
    entry = _entry(page, "Approve or reject the waiver for “Gate 0”")
    expect(entry).to_contain_text(f"{world.product.slug} 1.0.0")
    expect(entry).to_contain_text(f"asked by {world.lead.username}")
    screenshot(page, "waiting-pm-en")
    entry.get_by_role("link").click()
    expect(page).to_have_url(f"{asgi_server}/releases/{world.product.slug}/1.0.0/#waiver-{waiver.pk}")
    page.locator(f"#waiver-{waiver.pk}").get_by_role("button", name="Approve").click()
    expect(page.locator(f"#waiver-{waiver.pk}")).to_contain_text("Approved")
    # The other tab's entry leaves without a reload.
    expect(watcher.locator(f"#waiting-waiver-{waiver.pk}")).to_have_count(0, timeout=12000)
    _back_to_the_dashboard(page)
    expect(page.locator(f"#waiting-waiver-{waiver.pk}")).to_have_count(0)
    assert page.console_errors == [] and watcher.console_errors == []


def test_qa_ticks_the_core_scenarios_waiting(
    asgi_server: str, browser: Browser, make_user: Callable[..., Any]
) -> None:
    world = _world(make_user, ready=False)
    page = log_in(browser, asgi_server, world.qa.username)
    for left in ("2 core scenarios to tick", "1 core scenario to tick"):
        entry = _entry(page, left)
        screenshot(page, f"waiting-qa-{left[0]}")
        link = entry.get_by_role("link")
        href = link.get_attribute("href") or ""
        link.click()
        expect(page).to_have_url(f"{asgi_server}{href}")
        assert "/checklist/#item-" in href
        item = page.locator(href[href.index("#") :])
        item.get_by_role("button", name="Passed").click()
        expect(item).to_have_attribute("data-state", "passed")
        _back_to_the_dashboard(page)
    expect(page.locator("#waiting")).not_to_contain_text("core scenario")
    assert page.console_errors == []


@pytest.mark.parametrize("role", [Role.MOBILE_LEAD, Role.BACKEND_LEAD])
def test_a_lead_signs_off_once_their_evidence_is_in(
    asgi_server: str, browser: Browser, make_user: Callable[..., Any], role: str
) -> None:
    world = _world(make_user, ready=False)
    world.product.signoff_roles = [Role.QA, Role.MOBILE_LEAD, Role.BACKEND_LEAD]
    world.product.save(update_fields=["signoff_roles"])
    mobile = make_user(Role.MOBILE_LEAD, product=world.product)
    _demo_passwords(mobile)
    world.gates[0].owner_role = Role.MOBILE_LEAD
    world.gates[0].save(update_fields=["owner_role"])
    lead = mobile if role == Role.MOBILE_LEAD else world.lead
    label = "Mobile Lead" if role == Role.MOBILE_LEAD else "Backend Lead"
    gate = world.gates[0] if role == Role.MOBILE_LEAD else world.gates[1]
    page = log_in(browser, asgi_server, lead.username)
    expect(page.locator("#waiting")).to_contain_text("Nothing is waiting for you.")
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)  # listening
    # CI reports the lead's own gate: their evidence is in (the other lead's is not).
    gate_result_record(release=world.release, gate=gate, status="passed", run_id=f"ci-{role}")
    entry = _entry(page, f"Sign off as {label}")  # live: no reload
    screenshot(page, f"waiting-{role}-en")
    entry.get_by_role("link").click()
    expect(page).to_have_url(f"{asgi_server}/releases/{world.product.slug}/1.0.0/#signoff-{role}")
    row = page.locator(f"#signoff-{role}")
    row.get_by_role("button", name="Sign Go").click()
    expect(row).to_contain_text(lead.username)
    _back_to_the_dashboard(page)
    expect(page.locator("#waiting")).not_to_contain_text("Sign off")
    assert page.console_errors == []


def test_devops_starts_and_advances_the_rollout_waiting(
    asgi_server: str, browser: Browser, make_user: Callable[..., Any]
) -> None:
    world = _world(make_user, ready=True)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    board = f"{asgi_server}/releases/{world.product.slug}/1.0.0/#operations"
    page = log_in(browser, asgi_server, world.devops.username)
    entry = _entry(page, "Go called: start the rollout")
    entry.get_by_role("link").click()
    expect(page).to_have_url(board)
    page.get_by_role("button", name="Start the rollout").click()
    expect(page.locator("#operations")).to_contain_text("Rolling out")
    _back_to_the_dashboard(page)
    expect(page.locator("#waiting")).to_contain_text("Nothing is waiting for you.")
    world.release.refresh_from_db()
    healthy(world.release)  # monitoring sends a sample within bounds: the stage may advance
    entry = _entry(page, "Stage 1 % may advance to 5 %")  # live: no reload
    screenshot(page, "waiting-devops-en")
    entry.get_by_role("link").click()
    expect(page).to_have_url(board)
    page.get_by_role("button", name="Advance to 5 %").click()
    expect(page.locator("#operations .stage-now")).to_contain_text("5 %")
    _back_to_the_dashboard(page)
    expect(page.locator("#waiting")).to_contain_text("Nothing is waiting for you.")
    assert page.console_errors == []
