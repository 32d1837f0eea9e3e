"""The board's flags panel and its actions: state, ships, last Kill, the Kill form for
DevOps and PM/PO only, STILL ON when a Kill failed, and the halt's suggestion."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from board.decisions import release_decide
from board.rollout import release_halt_by, release_rollout_start
from flags.models import FlagShip, Kill, KillStatus
from flags.services import flag_kill

from ..releases.builders import build_world
from .conftest import unleash_flag
from .flag_servers import Scripted

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any, unleash: Any) -> Any:
    w = build_world(make_user, ready=True)
    w.flag = unleash_flag(w.product, unleash)
    FlagShip.objects.create(flag=w.flag, release=w.release, ships=True, at=w.release.created_at)
    w.board = reverse("board:release_board", kwargs={"product": w.product.slug, "version": "1.0.0"})
    w.kill_url = reverse(
        "board:flag_kill", kwargs={"product": w.product.slug, "version": "1.0.0", "key": "search-v2"}
    )
    return w


def panel(client: Client, world: Any, user: Any, language: str = "en") -> str:
    client.force_login(user)
    page = client.get(
        world.board, headers={"HX-Request": "true", "HX-Target": "flags", "Accept-Language": language}
    )
    assert page.status_code == 200
    return page.content.decode()


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_panel_shows_each_flag_and_renders_in_both_languages(client, world, language) -> None:
    html = panel(client, world, world.devops, language)
    assert '<section id="flags"' in html and 'id="flag-search-v2"' in html
    assert 'data-state="unknown"' in html and 'data-ships="1"' in html
    assert world.kill_url in html and 'name="reason"' in html


def test_only_devops_and_pm_see_the_kill_form(client, world) -> None:
    assert world.kill_url in panel(client, world, world.pm)
    qa_view = panel(client, world, world.qa)
    assert world.kill_url not in qa_view and "DevOps or a PM/PO may switch a flag off" in qa_view


def test_kill_from_the_board_turns_it_off_and_the_panel_says_so(
    client, world, unleash, queued, attempt, django_capture_on_commit_callbacks
) -> None:
    client.force_login(world.devops)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(world.kill_url, {"reason": "Search is empty"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "is being switched off" in response.content.decode()
    kill = Kill.objects.get()
    assert queued.ids() == [kill.pk] and kill.by == world.devops
    assert attempt(kill) == "done"
    assert unleash.enabled("search-v2", "production") is False
    html = panel(client, world, world.qa)
    assert 'data-state="off"' in html and 'data-kill="done"' in html and "Search is empty" in html


def test_the_view_refuses_other_roles_and_a_missing_reason(client, world, queued) -> None:
    client.force_login(world.qa)
    assert client.post(world.kill_url, {"reason": "x"}).status_code == 403
    client.force_login(world.pm)
    refused = client.post(world.kill_url, {"reason": ""}, headers={"HX-Request": "true"})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    assert not Kill.objects.exists()


def test_a_failed_kill_says_still_on_loudly_with_on_call_and_runbook(
    client, world, unleash, queued, attempt
) -> None:
    unleash.script = [Scripted(status=401)]
    kill = flag_kill(flag=world.flag, release=world.release, actor=world.devops, reason="Broken search")
    assert attempt(kill) == "failed"
    html = panel(client, world, world.qa)
    assert 'role="alert"' in html and "STILL ON" in html
    assert "Unleash refused the token (401): check GONOGO_TEST_UNLEASH_TOKEN" in html
    assert "devops person" in html  # who is on call
    assert "https://wiki.example.com/rb" in html  # the runbook
    assert Kill.objects.get().status == KillStatus.FAILED


def test_attach_and_detach_from_the_board(client, world) -> None:
    url = reverse(
        "board:flag_ship", kwargs={"product": world.product.slug, "version": "1.0.0", "key": "search-v2"}
    )
    client.force_login(world.qa)
    assert client.post(url, {"ships": "0"}).status_code == 403
    client.force_login(world.pm)
    assert client.post(url, {"ships": "0"}).status_code == 302
    assert FlagShip.objects.get(flag=world.flag, release=world.release).ships is False
    assert 'data-ships="0"' in panel(client, world, world.pm)


def test_a_halt_suggests_the_release_flags(client, world) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm, rationale="ok")
    release_rollout_start(release=world.release, actor=world.devops)
    release_halt_by(release=world.release, actor=world.devops, reason="crash rate")
    client.force_login(world.pm)
    html = client.get(world.board, headers={"HX-Request": "true", "HX-Target": "verdict"}).content.decode()
    assert 'id="halt-flags"' in html and 'href="#flags"' in html
    assert "Turn a feature off without a new build:" in html and "search-v2 (unknown)" in html


def test_a_product_without_flags_has_no_panel(client, make_user) -> None:
    w = build_world(make_user, ready=False)
    client.force_login(w.pm)
    html = client.get(reverse("board:release_board", kwargs={"product": w.product.slug, "version": "1.0.0"}))
    assert 'id="flags"' in html.content.decode() and "Feature flags" not in html.content.decode()
