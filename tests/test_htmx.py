"""The htmx plumbing: which responses htmx swaps in (base.html's responseHandling), error
pages that stay out of the panel that asked, and the live panels' attributes."""

from __future__ import annotations

from typing import Any

import pytest
from django.http import HttpResponse
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.urls import reverse

from core.errors import Conflict, DomainError, NotAllowed, RuleViolation
from core.htmx import REFUSAL_STATUSES
from live.services import DASHBOARD_PANELS, PANELS_FOR, RELEASE_PANELS, REVIEW_CHANGES, REVIEW_PANELS

from .htmx import htmx_config, swaps
from .releases.builders import build_world

HTMX = {"HX-Request": "true"}


def test_the_config_keeps_eval_and_scripts_off() -> None:
    config = htmx_config()
    assert config["allowEval"] is False and config["allowScriptTags"] is False


@pytest.mark.parametrize("error", [RuleViolation, NotAllowed, Conflict])
def test_a_refused_action_is_swapped_in(error: type[DomainError]) -> None:
    assert error.status in REFUSAL_STATUSES
    assert swaps(HttpResponse(status=error.status))


@pytest.mark.parametrize("status", [204, 404, 405, 413, 500, 503])
def test_no_content_and_other_errors_are_not(status: int) -> None:
    assert not swaps(HttpResponse(status=status))


def test_a_success_is_swapped_in() -> None:
    assert swaps(HttpResponse(status=200))


@pytest.mark.django_db
def test_an_error_page_answering_htmx_stays_out_of_the_panel(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    board = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    client.force_login(make_user())  # no role anywhere
    page = client.get(board)
    assert page.status_code == 403 and "HX-Reswap" not in page
    panel = client.get(board, headers={**HTMX, "HX-Target": "gates"})
    assert panel.status_code == 403 and not swaps(panel)


@pytest.mark.django_db
def test_a_failed_csrf_check_answering_htmx_stays_out_of_the_panel(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.pm)
    decide = reverse("board:release_decide", kwargs={"product": world.product.slug, "version": "1.0.0"})
    response = client.post(decide, {"outcome": "go"}, headers={**HTMX, "HX-Target": "decision"})
    assert response.status_code == 403 and not swaps(response)
    assert client.post(decide, {"outcome": "go"}).status_code == 403


@pytest.mark.django_db
def test_every_panel_a_change_names_listens_for_it(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    client.force_login(world.pm)
    kwargs = {"product": world.product.slug, "version": "1.0.0"}
    pages = [
        client.get(reverse(name, kwargs=kwargs)).content.decode()
        for name in ("board:release_board", "board:meeting")
    ]
    named = {
        panel for change, panels in PANELS_FOR.items() if change not in REVIEW_CHANGES for panel in panels
    }
    assert named == RELEASE_PANELS
    for panel in named:
        assert any(f'hx-trigger="panel-{panel} from:body"' in page for page in pages), panel
    dashboard = client.get(reverse("board:dashboard")).content.decode()
    for panel in DASHBOARD_PANELS:
        assert f'id="{panel}" data-live-panel' in dashboard and f"panel-{panel} from:body" in dashboard
    # The weekly review's panels, on its own stream.
    review = client.get(reverse("reviews:current"), follow=True).content.decode()
    for panel in REVIEW_PANELS:
        assert f'id="{panel}" data-live-panel' in review and f"panel-{panel} from:body" in review


def test_the_live_panel_attributes() -> None:
    html = Template('{% load live %}<section {% live_panel "gates" url %}>').render(Context({"url": "/b/"}))
    assert html.startswith('<section id="gates" data-live-panel hx-get="/b/"')
    assert 'hx-trigger="panel-gates from:body"' in html
    also = Template('{% load live %}{% live_panel "releases" "/" also="x from:body" %}').render(Context())
    assert "releases" in DASHBOARD_PANELS and 'hx-trigger="panel-releases from:body, x from:body"' in also


def test_a_panel_the_stream_never_names_is_refused() -> None:
    with pytest.raises(TemplateSyntaxError):
        Template('{% load live %}{% live_panel "gatez" "/" %}').render(Context())
