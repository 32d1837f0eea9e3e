"""Each person's time zone: the `when` and `ago` filters, the middleware that activates the
saved zone per request (pages, htmx panels), the browser's zone offered once and saved
(CSRF, validation, audit), and a board read in Asia/Seoul."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Profile, Role
from accounts.preferences import saved_time_zone, time_zone_save
from audit.models import AuditEvent
from core.errors import RuleViolation
from core.when import ago_text, when_text, zone_label
from gates.services import gate_result_record
from notifications.messages import moment_text
from releases.health_words import breach_text

from ..releases.builders import build_world

MOMENT = datetime(2026, 12, 1, 7, 33, tzinfo=UTC)
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


def render(source: str, **context: Any) -> str:
    return Template(source).render(Context(context))


# --- The filters --------------------------------------------------------------------


def test_when_in_utc_says_utc() -> None:
    with timezone.override("UTC"):
        assert render("{{ m|when }}", m=MOMENT) == "2026-12-01 07:33 UTC"
        assert render('{{ m|when:"time" }}', m=MOMENT) == "07:33 UTC"


def test_when_in_asia_seoul_is_nine_hours_on_and_says_kst() -> None:
    with timezone.override(SEOUL):
        assert render("{{ m|when }}", m=MOMENT) == "2026-12-01 16:33 KST"
        assert render('{{ m|when:"time" }}', m=MOMENT) == "16:33 KST"
        assert render('{{ m|when:"short" }}', m=MOMENT) == "12-01 16:33 KST"
        assert render('{{ m|when:"time_seconds" }}', m=MOMENT) == "16:33:00 KST"
        # Past midnight in Seoul: the date moves with the zone.
        assert render("{{ m|when }}", m=MOMENT + timedelta(hours=16)) == "2026-12-02 08:33 KST"


@pytest.mark.parametrize(
    "zone, expected",
    [
        ("Asia/Dubai", "2026-12-01 11:33 UTC+4"),  # the zone database writes "+04"
        ("America/Sao_Paulo", "2026-12-01 04:33 UTC-3"),
        ("Asia/Kathmandu", "2026-12-01 13:18 UTC+5:45"),
        ("Europe/Berlin", "2026-12-01 08:33 CET"),
    ],
)
def test_a_zone_without_an_abbreviation_says_its_offset(zone: str, expected: str) -> None:
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        assert render("{{ m|when }}", m=MOMENT) == expected


def test_summer_time_changes_the_label() -> None:
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert zone_label(datetime(2026, 7, 1, 12, tzinfo=berlin)) == "CEST"
    assert zone_label(datetime(2026, 1, 1, 12, tzinfo=berlin)) == "CET"


def test_when_takes_iso_text_and_says_nothing_for_nothing() -> None:
    with timezone.override(SEOUL):
        assert render("{{ m|when }}", m="2026-12-01T07:33:00+00:00") == "2026-12-01 16:33 KST"
        assert render("[{{ m|when }}]", m=None) == "[]"
        assert render("[{{ m|when }}]", m="not a time") == "[]"
    with pytest.raises(TemplateSyntaxError, match="the formats are"):
        render('{{ m|when:"H:i" }}', m=MOMENT)


@pytest.mark.parametrize(
    "seconds, english",
    [
        (0, "just now"),
        (59, "just now"),
        (-20, "just now"),  # a clock a little ahead
        (60, "1 minute ago"),
        (5 * 60 + 30, "5 minutes ago"),
        (97 * 60, "1 hour, 37 minutes ago"),
        (2 * 3600, "2 hours ago"),
        (9 * 86400 + 3 * 3600, "1 week, 2 days ago"),
        (-5 * 60, "in 5 minutes"),
    ],
)
def test_ago_reads_naturally(seconds: int, english: str) -> None:
    with translation.override("en"):
        assert ago_text(MOMENT, now=MOMENT + timedelta(seconds=seconds)) == english


def test_ago_in_korean_has_no_comma() -> None:
    with translation.override("ko"):
        assert ago_text(MOMENT, now=MOMENT + timedelta(minutes=97)) == "1시간 37분 전"
        assert ago_text(MOMENT, now=MOMENT + timedelta(seconds=5)) == "방금"
        assert ago_text(MOMENT, now=MOMENT + timedelta(minutes=3)) == "3분 전"


def test_ago_filter_in_a_template() -> None:
    with time_machine.travel(MOMENT + timedelta(minutes=2), tick=False), translation.override("en"):
        assert render("{{ m|ago }}", m=MOMENT) == "2 minutes ago"


def test_times_built_in_python_say_their_zone() -> None:
    with timezone.override(SEOUL), translation.override("en"):
        assert when_text(MOMENT) == "2026-12-01 16:33 KST"
        assert moment_text("2026-12-01T07:33:00+00:00") == "2026-12-01 16:33 KST"
        assert when_text(MOMENT, "time") == "16:33 KST"
        breach = {"metric": "error_rate", "value": 0.09, "bound": 0.01}
        assert breach_text(breach, source="prometheus", at="2026-12-01T07:33:00+00:00").endswith("16:33 KST")


# --- Saving a zone --------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_a_zone_is_validated_and_audited(make_user: Any) -> None:
    user = make_user(Role.QA)
    assert saved_time_zone(user) == ""
    with pytest.raises(RuleViolation) as refused:
        time_zone_save(user=user, zone="Mars/Olympus_Mons", actor=user)
    assert "Mars/Olympus_Mons is not a time zone name" in refused.value.message
    assert refused.value.field == "time_zone"
    assert not Profile.objects.exists() and not AuditEvent.objects.filter(action="profile.time_zone").exists()

    time_zone_save(user=user, zone=" Asia/Seoul ", actor=user)
    assert saved_time_zone(user) == "Asia/Seoul"
    event = AuditEvent.objects.get(action="profile.time_zone")
    assert event.before == {"user": user.username, "time_zone": ""}
    assert event.after == {"user": user.username, "time_zone": "Asia/Seoul"}
    assert event.actor_label == user.username

    time_zone_save(user=user, zone="Asia/Seoul", actor=user)  # the same again: nothing to record
    assert AuditEvent.objects.filter(action="profile.time_zone").count() == 1
    time_zone_save(user=user, zone="UTC", actor=user)
    assert AuditEvent.objects.filter(action="profile.time_zone").count() == 2


def csrf_client(user: Any) -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("accounts:preferences"))
    return client, client.cookies["csrftoken"].value


@pytest.mark.django_db
def test_the_offer_saves_the_zone_with_csrf_and_returns_to_the_page(make_user: Any) -> None:
    user = make_user(Role.QA)
    client, token = csrf_client(user)
    save = reverse("accounts:time_zone_update")
    data = {"time_zone": "Asia/Seoul", "next": "/"}

    assert client.post(save, data).status_code == 403  # no CSRF token
    assert saved_time_zone(user) == ""

    response = client.post(save, {**data, "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and response["Location"] == "/"
    assert saved_time_zone(user) == "Asia/Seoul"


@pytest.mark.django_db
def test_a_zone_that_does_not_exist_is_refused_on_the_page(make_user: Any) -> None:
    user = make_user(Role.PM)
    client, token = csrf_client(user)
    response = client.post(
        reverse("accounts:time_zone_update"), {"time_zone": "Asia/Seol", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Asia/Seol is not a time zone name" in html and 'aria-invalid="true"' in html
    assert saved_time_zone(user) == ""


@pytest.mark.django_db
def test_next_elsewhere_is_not_followed(make_user: Any) -> None:
    user = make_user(Role.PM)
    client, token = csrf_client(user)
    response = client.post(
        reverse("accounts:time_zone_update"),
        {"time_zone": "Asia/Seoul", "next": "https://elsewhere.example/", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:preferences")


@pytest.mark.django_db
@pytest.mark.parametrize("given", ["foo", "admin:index", "//elsewhere.example/x", ""])
def test_a_next_that_is_not_a_path_of_this_site_lands_on_the_preferences(make_user: Any, given: str) -> None:
    user = make_user(Role.PM)
    client, token = csrf_client(user)
    response = client.post(
        reverse("accounts:time_zone_update"),
        {"time_zone": "Asia/Seoul", "next": given, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and response["Location"] == reverse("accounts:preferences")


@pytest.mark.django_db
def test_the_offer_is_on_the_page_until_a_zone_is_chosen(make_user: Any, client: Client) -> None:
    user = make_user(Role.QA)
    client.force_login(user)
    response = client.get("/")
    html = response.content.decode()
    assert 'id="time-zone-offer"' in html and 'data-server-zone="UTC"' in html
    assert 'value="UTC"' in html and "Keep UTC" in html
    # The script that fills it in is a file of our own, with the page's nonce (no inline script).
    nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
    assert f'src="/static/js/time-zone.js" nonce="{nonce}"' in html

    time_zone_save(user=user, zone="UTC", actor=user)  # "Keep UTC" is a choice too
    assert 'id="time-zone-offer"' not in client.get("/").content.decode()


@pytest.mark.django_db
def test_the_preferences_page_shows_the_zone_in_use(make_user: Any, client: Client) -> None:
    user = make_user(Role.DEVOPS)
    client.force_login(user)
    html = client.get(reverse("accounts:preferences")).content.decode()
    assert '<option value="UTC" selected>' in html
    assert "the server's time zone, UTC (UTC)" in html
    time_zone_save(user=user, zone="Asia/Seoul", actor=user)
    html = client.get(reverse("accounts:preferences")).content.decode()
    assert '<option value="Asia/Seoul" selected>' in html and "Times are shown in Asia/Seoul (KST)." in html
    assert ">KST</a>" in html  # the top bar says the zone, linking here


# --- The middleware ---------------------------------------------------------------------


@pytest.mark.django_db
def test_each_person_reads_the_board_in_their_own_zone(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    gate_result_record(
        release=world.release, gate=world.gates[0], status="passed", run_id="r1", observed_at=MOMENT
    )
    time_zone_save(user=world.pm, zone="Asia/Seoul", actor=world.pm)
    url = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})

    seoul, utc = Client(), Client()
    seoul.force_login(world.pm)
    utc.force_login(world.qa)
    with time_machine.travel(MOMENT + timedelta(minutes=97), tick=False), translation.override("en"):
        page = seoul.get(url).content.decode()
        assert 'title="2026-12-01 16:33 KST">1 hour, 37 minutes ago</time>' in page
        assert 'title="2026-12-01 07:33 UTC">' in utc.get(url).content.decode()
        # The live board's panel refreshes are htmx requests: the same zone.
        panel = seoul.get(url, headers={"HX-Request": "true", "HX-Target": "gates"}).content.decode()
    assert panel.lstrip().startswith('<section id="gates"') and "2026-12-01 16:33 KST" in panel
    # Nothing stays activated after a request.
    assert timezone.get_current_timezone_name() == "UTC"


@pytest.mark.django_db
def test_the_zone_costs_one_query_and_none_signed_out(make_user: Any, client: Client) -> None:
    with CaptureQueriesContext(connection) as anonymous:
        client.get(reverse("accounts:login"))
    assert not [q for q in anonymous.captured_queries if "accounts_profile" in q["sql"]]
    client.force_login(make_user(Role.QA))
    with CaptureQueriesContext(connection) as signed_in:
        client.get("/")
    assert len([q for q in signed_in.captured_queries if "accounts_profile" in q["sql"]]) == 1


@pytest.mark.django_db
def test_a_zone_the_database_no_longer_knows_falls_back_to_the_servers(
    make_user: Any, client: Client
) -> None:
    user = make_user(Role.QA)
    Profile.objects.create(user=user, time_zone="Nowhere/Gone")
    client.force_login(user)
    response = client.get(reverse("accounts:preferences"))
    assert response.status_code == 200 and ">UTC</a>" in response.content.decode()
