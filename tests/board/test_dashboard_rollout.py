"""The dashboard's cards after Go (issue 14): a release rolling out says its stage and
its health with the last sample's source; a halted one says HALTED at its stage, and a
halt on a breach stays "out of bounds" until a sample after the halt."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role
from board.decisions import release_decide
from board.rollout import release_rollout_start
from operations.services import health_sample_record

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db


def card(client: Client, release: Any) -> str:
    page = client.get("/").content.decode()
    found = re.search(
        rf'<article class="card release-card" id="release-{release.pk}">(.*?)</article>', page, re.S
    )
    assert found, page
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


def test_rolling_out_then_halted_on_a_breach(client: Client, make_user: Any) -> None:
    world = build_world(make_user, ready=True)
    devops = make_user(Role.DEVOPS, product=world.product)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release_rollout_start(release=world.release, actor=devops)
    client.force_login(world.pm)
    assert "Rolling out: 1 %" in card(client, world.release)
    assert "Health: ◷ waiting for a sample" in card(client, world.release)

    health_sample_record(release=world.release, error_rate=0.001)
    words = card(client, world.release)
    assert "Health: ✓ within bounds pushed by monitoring" in words

    health_sample_record(release=world.release, error_rate=0.2)
    words = card(client, world.release)
    assert "HALTED at 1 %" in words and "Rolling out" not in words
    assert "Health: ✗ out of bounds pushed by monitoring" in words
