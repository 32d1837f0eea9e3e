"""Who may change the weekly review (issue 11, item 9): its notes are written and the
review ended only by a PM/PO or by its attendees who hold a role; its shared timer is run
only by a PM/PO or the review's facilitator (issue 15, item 6). Anyone with a role may
read it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from reviews.models import WeeklyReview
from reviews.selectors import Week

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any) -> Any:
    return build_world(make_user, ready=False)


def urls() -> tuple[Week, str, str, str]:
    now = Week.of()
    kwargs = {"year": now.year, "week": now.week}
    return (
        now,
        reverse("reviews:save", kwargs=kwargs),
        reverse("reviews:timer", kwargs=kwargs),
        reverse("reviews:week", kwargs=kwargs),
    )


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_only_a_pm_po_begins_a_review(world: Any, make_user: Any) -> None:
    now, save, timer, page = urls()
    devops = make_user(Role.DEVOPS)
    for outsider in (world.qa, world.lead, devops):
        assert as_user(outsider).post(save, {"q1": "mine now"}).status_code == 403
        assert as_user(outsider).post(timer).status_code == 403
        assert as_user(outsider).get(page).status_code == 200  # reading stays open
    assert not WeeklyReview.objects.exists()
    assert as_user(world.pm).post(save, {"attendees": [world.pm.username], "q1": "begun"}).status_code == 302
    assert WeeklyReview.objects.get(year=now.year, week=now.week).notes["q1"] == "begun"


def test_attendees_with_a_role_edit_and_end_it_others_do_not(world: Any, make_user: Any) -> None:
    _now, save, timer, _page = urls()
    outsider = make_user(Role.MOBILE_LEAD)
    as_user(world.pm).post(save, {"attendees": [world.pm.username, world.qa.username], "q1": "start"})
    assert as_user(outsider).post(save, {"q1": "rewritten by an outsider", "end": "1"}).status_code == 403
    assert as_user(world.lead).post(timer).status_code == 403
    review = WeeklyReview.objects.get()
    assert (review.notes["q1"], review.ended_at, review.timer_started_at) == ("start", None, None)

    qa = as_user(world.qa)  # an attendee who holds a role: writes notes, ends it...
    assert qa.post(timer).status_code == 403  # ...but does not restart everyone's clock
    assert qa.post(save, {"attendees": review.attendees, "q1": "QA's notes", "end": "1"}).status_code == 302
    review.refresh_from_db()
    assert review.notes["q1"] == "QA's notes" and review.ended_at is not None
    assert review.timer_started_at is None


def test_an_attendee_whose_role_was_taken_away_no_longer_edits(world: Any) -> None:
    _now, save, _timer, _page = urls()
    as_user(world.pm).post(save, {"attendees": [world.pm.username, world.qa.username]})
    world.qa.role_memberships.all().delete()
    response = as_user(world.qa).post(save, {"q1": "after leaving"})
    assert response.status_code == 403
    assert WeeklyReview.objects.get().notes.get("q1", "") == ""


def test_an_administrator_without_a_role_does_not_edit(world: Any) -> None:
    _now, save, timer, page = urls()
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    as_user(world.pm).post(save, {"attendees": [world.pm.username, "root"]})
    client = as_user(admin)
    assert client.get(page).status_code == 200
    assert client.post(save, {"q1": "admin's"}).status_code == 403
    assert client.post(timer).status_code == 403


def test_the_page_offers_the_buttons_only_to_those_who_may_use_them(world: Any) -> None:
    _now, save, _timer, page = urls()
    as_user(world.pm).post(save, {"attendees": [world.pm.username]})
    mine = as_user(world.pm).get(page).content.decode()
    assert "End the review" in mine and "Start the 15 minutes" in mine
    theirs = as_user(world.lead).get(page).content.decode()
    assert "End the review" not in theirs and "Start the 15 minutes" not in theirs
    assert "attendees who hold a role may change or end it" in theirs


def test_the_service_refuses_too(world: Any) -> None:
    from core.errors import NotAllowed
    from reviews.services import weekly_review_save

    now = Week.of()
    with pytest.raises(NotAllowed):
        weekly_review_save(year=now.year, week=now.week, actor=world.qa, attendees=[], notes={})
    assert not WeeklyReview.objects.exists()
