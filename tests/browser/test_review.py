"""The weekly review, run in a browser: open the week, turn a failure into an action item,
assign it, mark a prevention change done, export the minutes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo
from gates.models import Gate
from gates.services import gate_result_record
from releases.models import Release
from reviews.models import ActionItem

from ..reviews.history import make_history
from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_weekly_review(asgi_server: str, browser: Browser, make_user: Any) -> None:
    # Releases shipped, halted and rolled back in W46 and W47 (before the demo's programme
    # checklist, which would block them), for the trends.
    history = make_history(make_user)
    seed_demo()
    release = Release.objects.get(product__slug="ios-app", version="2.4.0")
    gate_result_record(
        release=release, gate=Gate.objects.get(key="contract"), status="failed", run_id="pact-9"
    )
    pm = log_in(browser, asgi_server, "pm")
    pm.get_by_role("link", name="Weekly review").click()
    expect(pm.locator("#q1")).to_contain_text("Contract tests")

    pm.locator("#q1 tr", has_text="Contract tests").get_by_role("button", name="Create action item").click()
    item = ActionItem.objects.get(gate__key="contract", failure__release=release)
    row = pm.locator(f"#action-{item.pk}")
    expect(row).to_contain_text("Contract tests")
    row.locator("select[name=owner]").select_option("backend")
    row.locator("input[name=due_on]").fill("2026-12-04")
    row.get_by_role("button", name="Save").click()
    expect(pm.locator(f"#action-{item.pk} select[name=owner]")).to_have_value("backend")

    pm.locator("#q4 input[name=title]").fill("Run the contract tests on every pull request")
    pm.locator("#q4").get_by_role("button", name="Add").click()
    pm.locator("#q4 li", has_text="Run the contract tests").get_by_role("button", name="Mark done").click()
    expect(pm.locator("#q4")).to_contain_text("Done this week")
    expect(pm.locator("#q4 li", has_text="Run the contract tests")).to_contain_text("pm")
    screenshot(pm, "review-en")

    with pm.expect_download() as download:
        pm.get_by_role("link", name="Minutes (Markdown)").click()
    text = Path(download.value.path()).read_text(encoding="utf-8")
    for heading in ("## Q1.", "## Q2.", "## Q3.", "## Q4."):
        assert heading in text
    assert "Contract tests" in text and "backend, 2026-12-04" in text
    assert "[x] Run the contract tests on every pull request" in text

    # The meeting aid: the timer starts for everyone and walks through the time boxes.
    pm.get_by_role("button", name="Start the 15 minutes").click()
    expect(pm.locator("#timer li").first).to_have_class("box-now")
    expect(pm.locator("#timer-now")).to_have_text("Q1 · failures")
    expect(pm.locator("#timer-left")).not_to_have_text("15:00")
    expect(pm.locator("#timer-left")).to_have_text(re.compile(r"^14:\d\d$"))

    # Q3: DevOps records a rollback rehearsal here (the PM/PO does not); it shows beside
    # the target and in the week's rehearsals.
    expect(pm.locator("#q3 form")).to_have_count(0)
    devops = log_in(browser, asgi_server, "devops")
    devops.goto(pm.url.split("#")[0])
    devops.locator("#q3 summary").click()
    form = devops.locator("#q3 form")
    form.locator("select[name=product]").select_option("ios-app")
    form.locator("input[name=minutes]").fill("13")
    form.get_by_role("button", name="Record").click()
    expect(devops.locator("#rollback-ios-app")).to_contain_text("13 min")
    expect(devops.locator("#week-rehearsals")).to_contain_text("13 min")

    pm.get_by_role("link", name="12-week trends").click()
    expect(pm.locator("#trend-failures")).to_contain_text("Contract tests")
    expect(pm.locator("#trend-rollback")).to_contain_text("ios-app")
    expect(pm.locator("#dora-table tbody tr")).to_have_count(12)
    screenshot(pm, "review-trends-en")
    pm.goto(f"{asgi_server}/releases/{history.product.slug}/2.0.0/#operations")
    expect(pm.locator("#rollout")).to_contain_text("rolled back in 25 min")
    expect(pm.locator("#rollout")).to_contain_text("over target")
    assert not pm.console_errors, pm.console_errors

    ko = log_in(browser, asgi_server, "qa", language="ko")
    ko.goto(f"{asgi_server}/reviews/")
    expect(ko.locator("h1")).to_contain_text("주간 점검")
    screenshot(ko, "review-ko")
    ko.get_by_role("link", name="12주 추이").click()
    expect(ko.locator("h1")).to_contain_text("12주 추이")
    screenshot(ko, "review-trends-ko")
    assert not ko.console_errors, ko.console_errors
