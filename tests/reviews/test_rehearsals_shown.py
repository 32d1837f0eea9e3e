"""Rehearsals on record are shown where the team looks (issue 14, item 6): the board's
operations panel (the last release and the last rollback rehearsal), the weekly review's
Q3 (the week's rehearsals) and the twelve-week trends (rehearsals per product a week)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from operations.models import Rehearsal
from operations.services import rehearsal_record
from reviews.selectors import Week, weekly_answers
from reviews.trends import trends

from ..releases.builders import World, build_world

pytestmark = pytest.mark.django_db
W46, W47 = Week(2026, 46), Week(2026, 47)


@pytest.fixture
def world(make_user: Any) -> World:
    return build_world(make_user, ready=False)  # a passed rollback rehearsal 3 days ago


def rehearse(world: World, kind: str, day: date, minutes: int, outcome: str = "passed") -> Rehearsal:
    actor = world.qa if kind == "release" else world.devops
    return rehearsal_record(
        product=world.product, kind=kind, performed_on=day, minutes=minutes, outcome=outcome, actor=actor
    )


def operations_panel(client: Client, world: World) -> str:
    url = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    return client.get(url, headers={"HX-Request": "true", "HX-Target": "operations"}).content.decode()


def test_the_board_shows_the_last_release_and_rollback_rehearsal(client: Client, world: World) -> None:
    client.force_login(world.pm)
    html = operations_panel(client, world)
    release_row = html.split('id="last-release-rehearsal"', 1)[1].split("</div>", 1)[0]
    assert "none on record" in release_row
    today = timezone.localdate()
    rehearse(world, "release", today - timedelta(days=1), 42)
    rehearse(world, "rollback", today, 17, outcome="failed")
    html = operations_panel(client, world)
    release_row = html.split('id="last-release-rehearsal"', 1)[1].split("</div>", 1)[0]
    rollback_row = html.split('id="last-rollback-rehearsal"', 1)[1].split("</div>", 1)[0]
    assert (today - timedelta(days=1)).isoformat() in release_row and "42 min" in release_row
    assert "Passed" in release_row and world.qa.username in release_row
    assert today.isoformat() in rollback_row and "17 min" in rollback_row and "Failed" in rollback_row
    # The verdict still counts the passed one of 3 days ago, and the panel says so.
    assert f"last passed {(today - timedelta(days=3)).isoformat()}" in rollback_row
    page = reverse("board:product_page", kwargs={"slug": world.product.slug})
    assert f'href="{page}#rehearsals"' in html and f'href="{page}#oncall"' in html


def test_q3_lists_the_weeks_rehearsals(client: Client, world: World) -> None:
    rehearse(world, "release", date(2026, 11, 16), 42)  # Monday of W47
    rehearse(world, "rollback", date(2026, 11, 22), 12, outcome="failed")  # Sunday of W47
    rehearse(world, "rollback", date(2026, 11, 15), 9)  # W46
    answers = weekly_answers(W47, [world.product])
    assert [(r.performed_on, r.kind, r.minutes) for r in answers.rehearsals] == [
        (date(2026, 11, 16), "release", 42),
        (date(2026, 11, 22), "rollback", 12),
    ]
    assert weekly_answers(W47, []).rehearsals == []  # a product the viewer may not see
    client.force_login(world.pm)
    html = client.get(reverse("reviews:week", kwargs={"year": 2026, "week": 47})).content.decode()
    q3 = html.split('id="week-rehearsals"', 1)[1].split("</ul>", 1)[0]
    assert q3.count("<li") == 2 and "42 min" in q3 and "Release rehearsal" in q3 and "Failed" in q3
    assert world.qa.username in q3 and world.devops.username in q3
    empty = client.get(reverse("reviews:week", kwargs={"year": 2026, "week": 40})).content.decode()
    assert "No release or rollback rehearsal this week." in empty


def test_the_q3_form_offers_the_kinds_one_records(client: Client, world: World) -> None:
    url = reverse("reviews:week", kwargs={"year": 2026, "week": 47})
    for who, kinds in ((world.qa, ["release"]), (world.devops, ["rollback"]), (world.pm, [])):
        client.force_login(who)
        q3 = client.get(url).content.decode().split('id="q3"', 1)[1].split("</section>", 1)[0]
        offered = [k for k in ("release", "rollback") if f'<option value="{k}">' in q3]
        assert offered == kinds, who
    client.force_login(world.qa)
    data = {"product": world.product.slug, "performed_on": "2026-11-18", "minutes": "30", "outcome": "passed"}
    assert client.post(reverse("reviews:rehearsal_create"), {**data, "kind": "rollback"}).status_code == 403
    assert client.post(reverse("reviews:rehearsal_create"), {**data, "kind": "release"}).status_code == 302
    assert Rehearsal.objects.filter(kind="release", recorded_by=world.qa).count() == 1


def test_the_trends_count_rehearsals_per_product_and_week(client: Client, world: World) -> None:
    Rehearsal.objects.filter(product=world.product).delete()
    rehearse(world, "release", date(2026, 11, 16), 42)
    rehearse(world, "release", date(2026, 11, 17), 40, outcome="failed")
    rehearse(world, "rollback", date(2026, 11, 10), 12)
    rows = trends(W47, [world.product]).rehearsal_rows()
    assert [(p.slug, kind, cells[-2:]) for p, kind, cells in rows] == [
        (world.product.slug, "release", [(0, 0), (1, 1)]),
        (world.product.slug, "rollback", [(1, 0), (0, 0)]),
    ]
    assert all(len(cells) == 12 for _p, _k, cells in rows)
    client.force_login(world.pm)
    html = client.get(reverse("reviews:trends", kwargs={"year": 2026, "week": 47})).content.decode()
    table = html.split('id="trend-rehearsals"', 1)[1].split("</section>", 1)[0]
    release = table.split('data-kind="release"', 1)[1].split("</tr>", 1)[0]
    assert '<span aria-hidden="true">✓</span>1' in release and '<span aria-hidden="true">✗</span>1' in release
    assert 'data-kind="rollback"' in table
    assert trends(W47, []).rehearsal_rows() == []
