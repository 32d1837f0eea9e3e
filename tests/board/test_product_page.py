"""The product page (/products/<slug>/): releases in progress, the history of finished
releases (25 a page, a fixed number of queries per page), and operations kept in the app:
the runbook link and on-call contacts (DevOps), rehearsals (QA: release, DevOps:
rollback). Each form works as a plain POST and as htmx."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from operations.models import OnCallContact, Rehearsal, Rollback
from releases.models import Product, Release

from ..releases.builders import World, build_world
from ..releases.factories import ProductFactory, ReleaseFactory

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def page_url(product: Product, **query: Any) -> str:
    url = reverse("board:product_page", kwargs={"slug": product.slug})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def post_url(name: str, product: Product) -> str:
    return reverse(f"board:{name}", kwargs={"slug": product.slug})


@pytest.fixture
def world(make_user: Any) -> World:
    return build_world(make_user, ready=False)


def finished(product: Product, state: str, *, hours_ago: int, **values: Any) -> Release:
    ended = timezone.now() - timedelta(hours=hours_ago)
    return ReleaseFactory(
        product=product, state=state, state_changed_at=ended, created_at=ended - timedelta(days=2), **values
    )


# --- Who sees it --------------------------------------------------------------------------


def test_anyone_who_may_read_the_product_sees_its_page(make_user: Any, client: Client, world: World) -> None:
    url = page_url(world.product)
    response = client.get(url)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    client.force_login(make_user())
    assert client.get(url).status_code == 403
    client.force_login(make_user(*Role.values, product=ProductFactory(slug="elsewhere")))
    assert client.get(url).status_code == 403
    for role in Role.values:
        client.force_login(make_user(role, product=world.product))
        page = client.get(url)
        assert page.status_code == 200, role
        html = page.content.decode()
        assert f'href="/releases/{world.product.slug}/1.0.0/"' in html  # the release in progress
        # Only DevOps edits operations; only QA and DevOps record (their own kind of) rehearsals.
        assert ('action="' + post_url("runbook_update", world.product) + '"' in html) is (role == "devops")
        assert ('action="' + post_url("oncall_update", world.product) + '"' in html) is (role == "devops")
        assert ('action="' + post_url("rehearsal_record", world.product) + '"' in html) is (
            role in ("qa", "devops")
        )
        assert ('<option value="release">' in html) is (role == "qa")
        assert ('<option value="rollback">' in html) is (role == "devops")
    assert client.get(reverse("board:product_page", kwargs={"slug": "nope"})).status_code == 404


def test_the_dashboard_and_the_board_link_to_it(client: Client, world: World) -> None:
    client.force_login(world.pm)
    link = f'href="{page_url(world.product)}"'
    assert link in client.get(reverse("board:dashboard")).content.decode()
    board = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    assert link in client.get(board).content.decode()


# --- History ------------------------------------------------------------------------------


def test_the_history_lists_finished_releases_newest_first(client: Client, world: World) -> None:
    product = world.product
    product.rollback_target_minutes = 20
    product.save()
    released = finished(product, "released", hours_ago=1, version="4.0.0", rollout_percent=100)
    rolled = finished(product, "rolled_back", hours_ago=5, version="3.0.0", rollout_percent=5)
    Rollback.objects.create(
        release=rolled, product=product, minutes=25, rolled_back_at=rolled.state_changed_at
    )
    cancelled = finished(product, "cancelled", hours_ago=10, version="2.0.0")
    no_go = finished(product, "no_go", hours_ago=20, version="1.5.0")
    finished(ProductFactory(), "released", hours_ago=1)  # another product's
    client.force_login(world.qa)
    html = client.get(page_url(product)).content.decode()
    history = html.split('id="history"', 1)[1].split("</section>", 1)[0]
    order = [history.index(f'id="release-{r.pk}"') for r in (released, rolled, cancelled, no_go)]
    assert order == sorted(order)
    assert f'id="release-{world.release.pk}"' not in history  # a candidate is in progress, not history
    rows = {
        r.pk: history.split(f'id="release-{r.pk}"', 1)[1].split("</tr>", 1)[0]
        for r in (released, rolled, cancelled, no_go)
    }
    assert "✓</span> Released" in rows[released.pk] and "fully rolled out: 100 %" in rows[released.pk]
    assert "↺</span> Rolled back" in rows[rolled.pk] and "reached 5 %" in rows[rolled.pk]
    assert "25 min (target 20 min)" in rows[rolled.pk] and "over target" in rows[rolled.pk]
    assert "✗</span> Cancelled" in rows[cancelled.pk] and "not rolled out" in rows[cancelled.pk]
    assert "✗</span> No-Go" in rows[no_go.pk]
    ended = timezone.localtime(released.state_changed_at).strftime("%Y-%m-%d %H:%M")
    assert f"ended {ended}" in rows[released.pk]


def _page_queries(client: Client, url: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def test_the_history_is_paged_by_25_in_a_fixed_number_of_queries(client: Client, world: World) -> None:
    product = world.product
    client.force_login(world.pm)
    for n in range(3):
        finished(product, "released", hours_ago=100 + n)
    _page_queries(client, page_url(product))  # the session settles
    few, html = _page_queries(client, page_url(product))
    assert html.count('data-state="released"') == 3 and "page 1 of" not in html
    for n in range(27):
        rolled = finished(product, "rolled_back", hours_ago=n, rollout_percent=1)
        Rollback.objects.create(release=rolled, product=product, minutes=n, rolled_back_at=timezone.now())
    first, html = _page_queries(client, page_url(product))
    assert html.count('data-state="rolled_back"') == 25 and "page 1 of 2" in html
    assert 'href="?page=2#history"' in html and 'hx-get="?page=2"' in html
    second, html = _page_queries(client, page_url(product, page=2))
    assert html.count('data-state="rolled_back"') == 2 and html.count('data-state="released"') == 3
    assert "page 2 of 2" in html and 'href="?page=1#history"' in html
    assert few == first == second
    # htmx asks for the history panel alone.
    panel = client.get(page_url(product, page=2), headers={**HTMX, "HX-Target": "history"})
    body = panel.content.decode()
    assert body.lstrip().startswith('<section id="history"') and "<html" not in body
    assert client.get(page_url(product, page="x")).status_code == 200  # not a number: the first page


@pytest.mark.parametrize("panel", ["history", "operations", "rehearsals"])
def test_each_panel_for_htmx(panel: str, client: Client, world: World) -> None:
    client.force_login(world.qa)
    response = client.get(page_url(world.product), headers={**HTMX, "HX-Target": panel})
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith(f'<section id="{panel}"')
    assert "<html" not in body


# --- Runbook ------------------------------------------------------------------------------


def test_devops_sets_the_runbook_link(client: Client, world: World) -> None:
    url = post_url("runbook_update", world.product)
    for other in (world.pm, world.qa, world.lead):
        client.force_login(other)
        assert client.post(url, {"url": "https://wiki.example.com/new"}).status_code == 403
    client.force_login(world.devops)
    response = client.post(url, {"url": " https://wiki.example.com/new "})
    assert response.status_code == 302 and response["Location"].endswith(f"{page_url(world.product)}#runbook")
    world.product.refresh_from_db()
    assert world.product.runbook_url == "https://wiki.example.com/new"
    event = AuditEvent.objects.get(action="product.runbook_set")
    assert (event.actor, event.before, event.after) == (
        world.devops,
        {"runbook_url": "https://wiki.example.com/rb"},
        {"runbook_url": "https://wiki.example.com/new"},
    )
    page = client.get(response["Location"]).content.decode()
    assert "The runbook link is saved." in page and 'href="https://wiki.example.com/new"' in page
    # htmx: the operations panel, from fresh data, with the notice.
    panel = client.post(
        url, {"url": "https://wiki.example.com/v3"}, headers={**HTMX, "HX-Target": "operations"}
    ).content.decode()
    assert panel.lstrip().startswith('<section id="operations"') and "The runbook link is saved." in panel
    assert 'value="https://wiki.example.com/v3"' in panel


@pytest.mark.parametrize(
    "bad", ["ftp://files.example.com/runbook", "wiki/runbook", "", "https://" + "a" * 200]
)
def test_a_runbook_link_that_is_not_http_is_refused_saying_so(bad: str, client: Client, world: World) -> None:
    client.force_login(world.devops)
    url = post_url("runbook_update", world.product)
    panel = client.post(url, {"url": bad}, headers={**HTMX, "HX-Target": "operations"})
    assert panel.status_code == 400
    body = panel.content.decode()
    assert body.lstrip().startswith('<section id="operations"') and 'role="alert"' in body
    assert "https://" in body.split('role="alert"', 1)[1].split("</div>", 1)[0]
    plain = client.post(url, {"url": bad})
    assert plain.status_code == 400 and "https://" in plain.content.decode()
    world.product.refresh_from_db()
    assert world.product.runbook_url == "https://wiki.example.com/rb"
    assert not AuditEvent.objects.filter(action="product.runbook_set").exists()


# --- On-call contacts ---------------------------------------------------------------------


def test_devops_saves_a_contact_and_it_counts_as_reviewed_today(client: Client, world: World) -> None:
    url = post_url("oncall_update", world.product)
    data = {"role": "qa", "name": "Kim Jiwoo", "contact": "+82 10-1234-0001"}
    OnCallContact.objects.filter(product=world.product).update(
        reviewed_on=timezone.localdate() - timedelta(days=200)
    )
    for other in (world.pm, world.qa, world.lead):
        client.force_login(other)
        assert client.post(url, data).status_code == 403
    client.force_login(world.devops)
    response = client.post(url, data)
    assert response.status_code == 302 and response["Location"].endswith("#oncall")
    contact = OnCallContact.objects.get(product=world.product, role="qa")
    assert (contact.name, contact.contact, contact.reviewed_on) == (
        "Kim Jiwoo",
        "+82 10-1234-0001",
        timezone.localdate(),
    )
    event = AuditEvent.objects.filter(action="oncall.set", object_id=str(contact.pk)).latest("id")
    assert event.actor == world.devops and event.after["reviewed_on"] == str(timezone.localdate())
    assert event.before["reviewed_on"] == str(timezone.localdate() - timedelta(days=200))
    page = client.get(page_url(world.product)).content.decode()
    row = page.split('id="oncall-qa"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="reviewed"' in row and "Kim Jiwoo" in row
    devops_row = page.split('id="oncall-devops"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="overdue"' in devops_row and "not reviewed since" in devops_row


def test_mark_reviewed_today_keeps_the_contact_and_dates_it(client: Client, world: World) -> None:
    old = timezone.localdate() - timedelta(days=120)
    OnCallContact.objects.filter(product=world.product, role="devops").update(reviewed_on=old)
    client.force_login(world.devops)
    panel = client.post(
        post_url("oncall_update", world.product),
        {"role": "devops", "reviewed": "1"},
        headers={**HTMX, "HX-Target": "operations"},
    )
    assert panel.status_code == 200 and "marked reviewed today" in panel.content.decode()
    contact = OnCallContact.objects.get(product=world.product, role="devops")
    assert (contact.name, contact.contact, contact.reviewed_on) == (
        "devops person",
        "+82 10",
        timezone.localdate(),
    )
    event = AuditEvent.objects.filter(action="oncall.set", object_id=str(contact.pk)).latest("id")
    assert (event.before["reviewed_on"], event.after["reviewed_on"]) == (str(old), str(timezone.localdate()))
    assert event.before["name"] == event.after["name"] == "devops person"


def test_contact_refusals_say_what_to_fix(client: Client, world: World) -> None:
    client.force_login(world.devops)
    url = post_url("oncall_update", world.product)
    headers = {**HTMX, "HX-Target": "operations"}
    for data, words in (
        ({"role": "pm", "reviewed": "1"}, "no contact for this role yet"),
        ({"role": "qa", "name": " ", "contact": "x"}, "Give the name"),
        ({"role": "qa", "name": "Kim", "contact": ""}, "how to reach them"),
        ({"role": "sre", "name": "Kim", "contact": "x"}, "Unknown role"),
    ):
        response = client.post(url, data, headers=headers)
        assert response.status_code == 400, data
        assert words in response.content.decode(), data
    assert OnCallContact.objects.get(product=world.product, role="qa").name == "qa person"


# --- Rehearsals ---------------------------------------------------------------------------


def test_release_rehearsals_by_qa_and_rollback_rehearsals_by_devops(client: Client, world: World) -> None:
    url = post_url("rehearsal_record", world.product)
    today = timezone.localdate().isoformat()
    release = {
        "kind": "release",
        "performed_on": today,
        "minutes": "42",
        "outcome": "passed",
        "notes": "dry run",
    }
    rollback = {**release, "kind": "rollback", "minutes": "11"}
    allowed = {("qa", "release"), ("devops", "rollback")}
    for who in ("pm", "qa", "lead", "devops"):
        for data in (release, rollback):
            client.force_login(getattr(world, who))
            status = client.post(url, data).status_code
            role = "backend_lead" if who == "lead" else who
            assert (status == 302) is ((role, data["kind"]) in allowed), (who, data["kind"], status)
            assert status in (302, 403)
    kinds = list(
        Rehearsal.objects.filter(product=world.product, performed_on=timezone.localdate())
        .order_by("id")
        .values_list("kind", "minutes", "recorded_by__username")
    )
    assert kinds == [("release", 42, world.qa.username), ("rollback", 11, world.devops.username)]
    client.force_login(world.pm)
    page = client.get(page_url(world.product)).content.decode()
    panel = page.split('id="rehearsals"', 1)[1].split("</section>", 1)[0]
    assert "42 min" in panel and world.qa.username in panel and "dry run" in panel
    assert panel.index("42 min") < panel.index("9 min")  # newest first: the builder's is 3 days old


def test_a_rehearsal_in_the_future_or_without_a_date_is_refused(client: Client, world: World) -> None:
    client.force_login(world.devops)
    url = post_url("rehearsal_record", world.product)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    headers = {**HTMX, "HX-Target": "rehearsals"}
    for data, words in (
        ({"performed_on": tomorrow}, "once it has happened"),
        ({"performed_on": "30/11/2026"}, "YYYY-MM-DD"),
        ({"minutes": "forty"}, "whole number"),
    ):
        body = {
            "kind": "rollback",
            "performed_on": timezone.localdate().isoformat(),
            "minutes": "9",
            "outcome": "passed",
            **data,
        }
        response = client.post(url, body, headers=headers)
        assert response.status_code == 400 and words in response.content.decode(), data
        assert response.content.decode().lstrip().startswith('<section id="rehearsals"')
    assert Rehearsal.objects.filter(product=world.product).count() == 1  # the builder's
