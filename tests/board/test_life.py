"""The board's banner follows the release's life: the verdict before the call, then who
called it, the rollout's stage, why it halted, the rollback's minutes (issue 14, item 1)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from board.decisions import release_decide
from board.rollout import (
    release_halt_by,
    release_roll_back,
    release_rollout_advance,
    release_rollout_start,
)
from releases.lifecycle import release_cancel

from ..releases.builders import build_world, healthy, roll_out_fully

READY_WORDS = "The PM/PO may call Go"


@pytest.fixture
def world(make_user: Any) -> Any:
    w = build_world(make_user, ready=True)
    w.devops = make_user(Role.DEVOPS, product=w.product)
    w.board = reverse("board:release_board", kwargs={"product": w.product.slug, "version": "1.0.0"})
    return w


def banner(client: Client, world: Any) -> str:
    client.force_login(world.pm)
    page = client.get(world.board, headers={"HX-Request": "true", "HX-Target": "verdict"})
    assert page.status_code == 200
    return page.content.decode()


def test_a_candidate_shows_the_verdict(client: Client, world: Any) -> None:
    text = banner(client, world)
    assert 'data-phase="verdict"' in text and READY_WORDS in text


def test_a_standing_go_says_who_called_it_and_the_next_step(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm, rationale="All green.")
    text = banner(client, world)
    assert 'data-phase="go"' in text and READY_WORDS not in text
    assert f"Go called by {world.pm.get_username()}" in text and "All green." in text
    assert "DevOps starts it" in text


def test_a_no_go_never_offers_go(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Crash on login.")
    text = banner(client, world)
    assert 'data-phase="no_go"' in text and READY_WORDS not in text and "Crash on login." in text


def test_rolling_out_shows_the_stage_and_who_may_advance(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release = release_rollout_start(release=world.release, actor=world.devops)
    healthy(release)
    release_rollout_advance(release=release, actor=world.devops)
    text = banner(client, world)
    assert 'data-phase="rolling_out"' in text and READY_WORDS not in text
    assert "stage 2 of 4, 5 %" in text and "DevOps runs the rollout" in text


def test_a_halt_says_why_and_what_to_do(client: Client, world: Any) -> None:
    world.product.runbook_url = "https://wiki.example.com/runbook"
    world.product.save()
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release = release_rollout_start(release=world.release, actor=world.devops)
    release_halt_by(release=release, actor=world.devops, reason="Crash rate doubled in Seoul")
    text = banner(client, world)
    assert 'data-phase="halted"' in text and READY_WORDS not in text
    assert "stage 1 of 4, 1 %" in text and "Crash rate doubled in Seoul" in text
    assert f"Halted by {world.devops.get_username()}" in text
    assert "resume once a sample taken after the halt is within bounds, or roll back" in text
    assert "https://wiki.example.com/runbook" in text and 'href="#operations"' in text


def test_a_rollback_shows_its_minutes_against_the_target(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release = release_rollout_start(release=world.release, actor=world.devops)
    release_roll_back(release=release, actor=world.devops, minutes="11")
    text = banner(client, world)
    assert 'data-phase="rolled_back"' in text and READY_WORDS not in text
    target = world.product.rollback_target_minutes
    assert f"It took 11 min (target {target} min)." in text


def test_a_released_release_says_so(client: Client, world: Any) -> None:
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release = release_rollout_start(release=world.release, actor=world.devops)
    roll_out_fully(release, world.devops)
    text = banner(client, world)
    assert 'data-phase="released"' in text and "RELEASED: 100 %" in text and READY_WORDS not in text


def test_a_cancelled_release_says_why(client: Client, world: Any) -> None:
    release_cancel(release=world.release, actor=world.pm, reason="Superseded by 1.0.1")
    text = banner(client, world)
    assert 'data-phase="cancelled"' in text and "Superseded by 1.0.1" in text and READY_WORDS not in text
