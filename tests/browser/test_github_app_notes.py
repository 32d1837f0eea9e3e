"""The GitHub App's lines in the decision panel, as a PM sees them (English and Korean)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, expect

from demo.seed import seed_demo
from integrations.models import CommitStatusPost, DeploymentRequest
from releases.models import Release

from .conftest import log_in, screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_decision_panel_shows_the_deployments_and_the_status(
    asgi_server: str, browser: Browser, language: str
) -> None:
    seed_demo()
    release = Release.objects.get(product__slug="ios-app", version="2.4.0")
    now = timezone.now()
    common = {"release": release, "repository": "acme/ios-app", "sha": release.commit_sha}
    earlier = now - timedelta(minutes=5)
    DeploymentRequest.objects.create(
        **common,
        environment="production",
        run_id=122,
        state="answered",
        answer="rejected",
        requested_at=earlier,
        answered_at=earlier,
    )
    DeploymentRequest.objects.create(
        **common, environment="production", run_id=123, state="waiting", requested_at=now
    )
    CommitStatusPost.objects.create(
        release=release,
        sha=release.commit_sha,
        repository="acme/ios-app",
        state="failure",
        description="3 blockers: “Contract tests” failed, …",
        posted_state="failure",
        posted_description="3 blockers: “Contract tests” failed, …",
        updated_at=now,
    )
    page = log_in(browser, asgi_server, "pm", language=language)
    page.goto(f"{asgi_server}/releases/ios-app/2.4.0/")
    notes = page.locator("#decision .decision-note")
    expect(notes).to_have_count(3)
    expect(notes.nth(0)).to_contain_text("production")
    expect(notes.nth(0)).to_contain_text("123")
    expect(notes.nth(2)).to_contain_text("gonogo")
    if language == "en":
        expect(notes.nth(0)).to_contain_text("GitHub: deployment to production waiting for the Go (run 123)")
    # Each line stays inside the panel (the chip wraps).
    panel = page.locator("#decision").bounding_box()
    for i in range(3):
        box = notes.nth(i).locator(".chip").bounding_box()
        assert box and panel and box["x"] + box["width"] <= panel["x"] + panel["width"] + 1
    screenshot(page, f"board-github-{language}")
    assert not page.console_errors
