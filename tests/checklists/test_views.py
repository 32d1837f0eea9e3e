"""The QA checklist page: ticking (htmx and plain), conflicts, undo, defects from a failed
item, the regression report, updating from the template, programme approvals."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from board.selectors import release_board
from checklists.models import ChecklistItem, Defect, TemplateItem
from checklists.services import checklist_item_tick

from ..htmx import swaps
from ..releases.builders import build_world

HX = {"HX-Request": "true"}


@pytest.fixture
def world(make_user: Any) -> Any:
    w = build_world(make_user, ready=False)
    w.kwargs = {"product": w.product.slug, "version": w.release.version}
    w.url = reverse("checklists:checklist", kwargs=w.kwargs)
    w.items = list(
        ChecklistItem.objects.filter(checklist__release=w.release).order_by(
            "section_position", "position", "id"
        )
    )
    return w


def tick_url(w: Any, item: ChecklistItem) -> str:
    return reverse("checklists:item_tick", kwargs={**w.kwargs, "pk": item.pk})


def test_page_lists_every_item_with_outcome_buttons(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    html = client.get(world.url).content.decode()
    for item in world.items:
        assert f'id="item-{item.pk}"' in html and item.title in html
    assert html.count('data-key="p"') == len(world.items)
    assert "0 of 3 items checked" in html


def test_viewer_without_tick_role_sees_no_buttons(client: Client, world: Any) -> None:
    client.force_login(world.pm)
    html = client.get(world.url).content.decode()
    assert 'data-key="p"' not in html and f'id="item-{world.items[0].pk}"' in html


def test_htmx_tick_returns_the_item_and_refreshes_progress(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    item = world.items[0]
    response = client.post(
        tick_url(world, item),
        {"state": "passed", "revision": 0, "note": "ok on iPhone 15"},
        headers={**HX, "HX-Target": f"item-{item.pk}"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li id="item-{item.pk}"') and "<html" not in body
    assert 'data-state="passed"' in body and "ok on iPhone 15" in body and world.qa.username in body
    assert response["HX-Trigger"] == "checklist-changed"
    assert 'hx-swap-oob="true"' in body and "1 of 3 checked" in body  # the section's count, out of band
    item.refresh_from_db()
    assert (item.state, item.ticked_by, item.revision) == ("passed", world.qa, 1)


def test_plain_post_redirects_to_the_item(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    item = world.items[0]
    response = client.post(tick_url(world, item), {"state": "n/a", "revision": 0})
    assert response.status_code == 302 and response["Location"].endswith(f"#item-{item.pk}")


def test_second_tester_on_a_stale_view_sees_who_changed_it(
    client: Client, world: Any, make_user: Any
) -> None:
    other = make_user(Role.QA, product=world.product, username="minji")
    item = world.items[0]
    checklist_item_tick(item=item, state="failed", actor=other, expected_revision=0)
    client.force_login(world.qa)
    response = client.post(
        tick_url(world, item),
        {"state": "passed", "revision": 0},
        headers={**HX, "HX-Target": f"item-{item.pk}"},
    )
    assert response.status_code == 409
    assert swaps(response)  # the item with who changed it, swapped in despite the 409
    body = response.content.decode()
    assert "minji" in body and 'data-state="failed"' in body  # the current value, not ours
    item.refresh_from_db()
    assert (item.state, item.ticked_by) == ("failed", other)


def test_failed_item_asks_for_a_defect_and_a_critical_one_blocks(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    item = world.items[0]
    failed = client.post(
        tick_url(world, item), {"state": "failed", "revision": 0}, headers=HX
    ).content.decode()
    assert "data-defect-title" in failed
    url = reverse("checklists:defect_create", kwargs=world.kwargs)
    response = client.post(
        url, {"item": item.pk, "title": "Login crashes", "severity": "critical"}, headers=HX
    )
    assert response.status_code == 200
    assert (
        "Login crashes" in response.content.decode() and "data-defect-title" not in response.content.decode()
    )
    defect = Defect.objects.get()
    assert (defect.checklist_item, defect.severity, defect.reported_by) == (item, "critical", world.qa)
    assert "critical_defect_open" in {b.code for b in release_board(world.release).verdict.blockers}
    page = client.get(reverse("checklists:checklist", kwargs=world.kwargs)).content.decode()
    form = page.split(f'id="defect-{defect.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'name="resolution"' in form and " required" in form  # asked for, in the browser too
    url = reverse("checklists:defect_resolve", kwargs={"pk": defect.pk})
    one_click = client.post(url, headers={**HX, "HX-Target": "defects"})
    assert one_click.status_code == 400
    assert "Say how this critical defect was resolved" in one_click.content.decode()
    assert "critical_defect_open" in {b.code for b in release_board(world.release).verdict.blockers}
    resolve = client.post(
        url, {"resolution": "Fixed in build 1241: null check"}, headers={**HX, "HX-Target": "defects"}
    )
    assert resolve.status_code == 200
    assert "critical_defect_open" not in {b.code for b in release_board(world.release).verdict.blockers}
    row = resolve.content.decode().split(f'id="defect-{defect.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "“Fixed in build 1241: null check”" in row and world.qa.username in row  # how, who
    defect.refresh_from_db()
    assert (defect.resolution, defect.resolved_by) == ("Fixed in build 1241: null check", world.qa)
    event = AuditEvent.objects.get(action="defect.resolve")
    assert (event.actor, event.after["resolution"]) == (world.qa, "Fixed in build 1241: null check")


def test_undo_my_last_tick(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    item = world.items[0]
    client.post(tick_url(world, item), {"state": "passed", "revision": 0, "note": "first"})
    client.post(tick_url(world, item), {"state": "failed", "revision": 1, "note": "second"})
    undo = reverse("checklists:tick_undo", kwargs=world.kwargs)
    assert client.post(undo).status_code == 302
    item.refresh_from_db()
    assert (item.state, item.note, item.ticked_by) == ("passed", "first", world.qa)
    # Only one step: a second undo has nothing to take back.
    response = client.post(undo, headers={**HX, "HX-Target": "checklist"})
    assert response.status_code == 409


def test_undo_never_overwrites_someone_elses_later_tick(client: Client, world: Any, make_user: Any) -> None:
    other = make_user(Role.QA, product=world.product, username="jisoo")
    item = world.items[0]
    client.force_login(world.qa)
    client.post(tick_url(world, item), {"state": "passed", "revision": 0})
    checklist_item_tick(item=item, state="blocked", actor=other, expected_revision=1)
    response = client.post(
        reverse("checklists:tick_undo", kwargs=world.kwargs), headers={**HX, "HX-Target": "checklist"}
    )
    assert response.status_code == 409 and "jisoo" in response.content.decode()
    item.refresh_from_db()
    assert (item.state, item.ticked_by) == ("blocked", other)


def test_regression_report_markdown_and_csv(client: Client, world: Any) -> None:
    item = world.items[0]
    checklist_item_tick(item=item, state="failed", actor=world.qa, note="crash | on login\nsee log")
    from checklists.defects import defect_report

    defect_report(
        release=world.release, title="Login crashes", severity="critical", actor=world.qa, checklist_item=item
    )
    client.force_login(world.pm)
    md = client.get(reverse("checklists:report", kwargs={**world.kwargs, "fmt": "md"}))
    assert md["Content-Type"].startswith("text/markdown") and "attachment" in md["Content-Disposition"]
    text = md.content.decode()
    assert f"| {item.title} | yes | Failed | {world.qa.username} |" in text
    assert "crash \\| on login see log" in text and "**Critical** Login crashes" in text  # one cell
    raw = client.get(reverse("checklists:report", kwargs={**world.kwargs, "fmt": "csv"})).content.decode(
        "utf-8-sig"
    )
    rows = list(csv.DictReader(io.StringIO(raw)))
    assert len(rows) == len(world.items)
    # The page's words, in the viewer's language (tests/test_korean.py: in Korean).
    first = next(r for r in rows if r["Item"] == item.title)
    assert (first["Core"], first["Outcome"], first["By"], first["Defects"]) == (
        "yes",
        "Failed",
        world.qa.username,
        "Critical: Login crashes (Open)",
    )
    assert next(r for r in rows if r["Item"] != item.title)["Outcome"] == "Not checked"


def test_template_edits_do_not_rewrite_the_copy_until_applied(client: Client, world: Any) -> None:
    item = world.items[0]
    checklist_item_tick(item=item, state="passed", actor=world.qa)
    template_item = TemplateItem.objects.get(pk=item.template_item_id)
    template_item.title = "Core 0, reworded"
    template_item.save()
    section = template_item.section
    TemplateItem.objects.create(section=section, title="Brand new check", position=50)
    untouched = world.items[-1]
    TemplateItem.objects.filter(pk=untouched.template_item_id).delete()
    item.refresh_from_db()
    assert item.title != "Core 0, reworded"  # the running checklist is a snapshot
    client.force_login(world.qa)
    url = reverse("checklists:template_update", kwargs={**world.kwargs, "pk": item.checklist_id})
    page = client.get(url).content.decode()
    assert "Core 0, reworded" in page and "Brand new check" in page and "removed" in page
    assert client.post(url).status_code == 302
    item.refresh_from_db()
    assert (item.title, item.state) == ("Core 0, reworded", "passed")  # outcome kept
    titles = set(ChecklistItem.objects.filter(checklist=item.checklist).values_list("title", flat=True))
    assert "Brand new check" in titles and untouched.title not in titles


def test_page_query_count_does_not_grow_with_items(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    client.get(world.url)
    with CaptureQueriesContext(connection) as small:
        client.get(world.url)
    checklist = world.items[0].checklist
    ChecklistItem.objects.bulk_create(
        ChecklistItem(
            checklist=checklist,
            section=f"S{i // 30}",
            section_position=i // 30 + 5,
            title=f"Item {i}",
            position=i,
        )
        for i in range(300)
    )
    for item in ChecklistItem.objects.filter(checklist=checklist)[:100]:
        checklist_item_tick(item=item, state="passed", actor=world.qa)
    with CaptureQueriesContext(connection) as large:
        response = client.get(world.url)
    assert response.content.decode().count("data-item") >= 300
    assert len(large) == len(small), [q["sql"][:80] for q in large.captured_queries]


def test_a_tick_reads_only_its_section(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    checklist = world.items[0].checklist
    ChecklistItem.objects.bulk_create(
        ChecklistItem(checklist=checklist, section="Long", section_position=9, title=f"Item {i}", position=i)
        for i in range(300)
    )
    item = world.items[0]
    # The first action after signing in also writes the session's idle expiry (at most
    # once a minute, accounts.middleware); let that happen before counting.
    client.post(tick_url(world, world.items[1]), {"state": "passed", "revision": 0}, headers=HX)

    def tick(revision: int) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                tick_url(world, item), {"state": "passed", "revision": revision}, headers=HX
            )
        assert response.status_code == 200
        assert response.content.decode().count("data-item") == 1
        return len(queries)

    first = tick(0)
    # The 300 items join the ticked item's section: still the same number of queries.
    ChecklistItem.objects.filter(checklist=checklist, section="Long").update(
        section=item.section, section_position=item.section_position
    )
    assert tick(1) == first


def test_undo_of_an_item_removed_since_says_so(client: Client, world: Any) -> None:
    client.force_login(world.qa)
    item = world.items[-1]
    client.post(tick_url(world, item), {"state": "passed", "revision": 0})
    ChecklistItem.objects.filter(pk=item.pk).delete()
    response = client.post(
        reverse("checklists:tick_undo", kwargs=world.kwargs), headers={**HX, "HX-Target": "checklist"}
    )
    assert response.status_code == 409
    assert "no longer on the checklist" in response.content.decode()


def test_a_tick_answers_its_row_and_its_sections_count_out_of_band(client: Client, world: Any) -> None:
    """The answer is the row as saved (its new state and revision) and the section's
    count, swapped in out of band (checklists.views.render_ticked)."""
    client.force_login(world.qa)
    item = world.items[0]
    response = client.post(tick_url(world, item), {"state": "failed", "revision": 0}, headers=HX)
    assert response.status_code == 200 and response["HX-Trigger"] == "checklist-changed"
    html = response.content.decode()
    row = re.search(rf'<li id="item-{item.pk}"[^>]*>', html)
    assert row and 'data-state="failed"' in row.group(0) and 'data-revision="1"' in row.group(0)
    count = re.search(r'<span class="hint" id="count-[^"]+" hx-swap-oob="true">([^<]+)</span>', html)
    total = ChecklistItem.objects.filter(checklist=item.checklist, section=item.section).count()
    assert count and count.group(1).strip() == f"1 of {total} checked · ✗ 1", html
    assert "This item failed: file a defect." in html  # the row's own defect form
