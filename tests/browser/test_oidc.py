"""Single sign-on end to end: a lead opens Go/No-Go, signs in at the (local) identity
provider, comes back signed in with the role their group maps to, and signs off on the
demo board."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from accounts.models import Role, RoleMembership, SsoGroupRole
from demo.seed import seed_demo
from releases.models import SignOff

from ..accounts.oidc_provider import OIDCProvider
from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_a_lead_signs_in_with_sso_and_signs_off(
    asgi_server: str, browser: Browser, provider: OIDCProvider
) -> None:
    seed_demo()
    SsoGroupRole.objects.create(group="release-mobile", role=Role.MOBILE_LEAD)
    provider.person.preferred_username = "mina"
    provider.person.groups = ["release-mobile", "everyone"]

    context = browser.new_context(locale="en", extra_http_headers={"Accept-Language": "en"})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    board = f"{asgi_server}/releases/ios-app/2.4.0/"
    page.goto(board)
    expect(page).to_have_url(f"{asgi_server}/accounts/login/?next=/releases/ios-app/2.4.0/")
    screenshot(page, "sso-login-en")
    page.get_by_role("link", name="Sign in with Local IdP").click()

    # Through the provider's /authorize and back: signed in, on the page asked for.
    page.wait_for_url(board)
    expect(page.locator(".whoami")).to_have_text("mina")
    assert list(RoleMembership.objects.filter(user__username="mina").values_list("role", "source")) == [
        ("mobile_lead", "sso")
    ]
    assert provider.token_requests and provider.token_requests[-1]["code_verifier"]

    row = page.locator("#signoff-mobile_lead")
    row.locator("input[name=comment]").fill("Signed in with SSO; devices green")
    row.get_by_role("button", name="Sign Go").click()
    expect(row).to_contain_text("Signed in with SSO; devices green", timeout=12000)
    expect(row).to_contain_text("mina")
    signoff = SignOff.objects.filter(
        role="mobile_lead", release__version="2.4.0", signed_by__username="mina"
    ).get()
    assert signoff.vote == "go" and signoff.release.product.slug == "ios-app"
    screenshot(page, "sso-signed-off-en")
    assert not errors, errors
    context.close()


def test_an_open_board_goes_to_the_login_page_when_its_session_ends(
    asgi_server: str, browser: Browser, settings: Any
) -> None:
    from django.contrib.sessions.models import Session

    from .conftest import log_in

    settings.GONOGO_LIVE_SESSION_CHECK_SECONDS = 0.5
    seed_demo()
    page = log_in(browser, asgi_server, "mobile")
    board = f"{asgi_server}/releases/ios-app/2.4.0/"
    page.goto(board)
    expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=12000)
    Session.objects.all().delete()  # expired, or logged out in another tab
    page.wait_for_url(f"{asgi_server}/accounts/login/?next=/releases/ios-app/2.4.0/", timeout=10000)
    expect(page.locator("#id_username")).to_be_visible()
