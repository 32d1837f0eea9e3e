"""Signed out, a page redirects to the login form; an htmx request (a panel's refresh or
action once the session has expired) sends the whole page there instead (204 with
HX-Redirect), so the login form never lands inside a panel."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Target": "gates"}


def _board(world: Any) -> str:
    return reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})


def _next(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == reverse("accounts:login")
    return parse_qs(parts.query)["next"][0]


def test_a_signed_out_htmx_panel_refresh_sends_the_page_to_the_login_form(
    make_user: Any, client: Client
) -> None:
    board = _board(build_world(make_user, ready=False))
    response = client.get(board, headers=HTMX)
    assert response.status_code == 204 and "Location" not in response
    assert _next(response["HX-Redirect"]) == board
    # Back to the page the person was on, not to the URL the panel asked.
    meeting = reverse("board:meeting", kwargs={"product": "x", "version": "1.0.0"})
    page = client.get(board, headers={**HTMX, "HX-Current-URL": f"http://testserver{meeting}?tab=1"})
    assert page.status_code == 204 and _next(page["HX-Redirect"]) == f"{meeting}?tab=1"
    # A page of another origin is not a place to come back to.
    elsewhere = client.get(board, headers={**HTMX, "HX-Current-URL": "https://evil.example/"})
    assert _next(elsewhere["HX-Redirect"]) == board


def test_a_signed_out_htmx_action_gets_the_same_answer(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    decide = reverse("board:release_decide", kwargs={"product": world.product.slug, "version": "1.0.0"})
    response = client.post(decide, {"outcome": "go"}, headers={**HTMX, "HX-Target": "decision"})
    assert response.status_code == 204 and _next(response["HX-Redirect"]) == decide


def test_a_signed_out_page_redirects_to_the_login_form(make_user: Any, client: Client) -> None:
    board = _board(build_world(make_user, ready=False))
    response = client.get(board)
    assert response.status_code == 302 and "HX-Redirect" not in response
    assert _next(response["Location"]) == board


def test_signed_in_without_a_role_is_still_refused(make_user: Any, client: Client) -> None:
    board = _board(build_world(make_user, ready=False))
    client.force_login(make_user(username="nobody"))
    assert client.get(board).status_code == 403
    assert client.get(board, headers=HTMX).status_code == 403
