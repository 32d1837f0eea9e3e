"""Every blocker links to the place where it is fixed (issue 15, item 3), and says who may
fix it when the viewer may not: the product page's sections, the checklist page's rows,
the sign-off on the board, a failed gate's CI run (or the waiver form)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape
from django.utils.translation import gettext as _

from board.fixes import fix_links
from board.selectors import release_board
from checklists.defects import defect_report
from checklists.models import ChecklistItem
from gates.services import gate_result_record
from integrations.tokens import token_issue
from operations.models import OnCallContact, Rehearsal
from releases.models import Product

from ..releases.builders import World, build_world

CI_RUN = "https://ci.example.com/run/77"


def blocked(make_user: Any) -> World:
    """A release blocked by one of each: a failed gate (with its CI run), a gate with no
    result, a critical defect, open core scenarios, missing sign-offs, no runbook, no
    on-call contact for QA, no rollback rehearsal."""
    world = build_world(make_user, ready=False)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="r1", url=CI_RUN)
    world.defect = defect_report(release=world.release, title="Crash", severity="critical", actor=world.qa)
    Product.objects.filter(pk=world.product.pk).update(runbook_url="")
    OnCallContact.objects.filter(product=world.product, role="qa").delete()
    Rehearsal.objects.filter(product=world.product).delete()
    world.release.refresh_from_db()
    return world


def links_for(world: World, user: Any) -> dict[tuple[str, str], dict[str, Any]]:
    board = release_board(world.release)
    return {
        (b.code, b.target_id): link
        for b, link in zip(board.verdict.blockers, fix_links(board, user), strict=True)
    }


@pytest.mark.django_db
def test_each_blocker_links_to_where_it_is_fixed(make_user: Any) -> None:
    world = blocked(make_user)
    slug, version = world.product.slug, world.release.version
    product = reverse("board:product_page", kwargs={"slug": slug})
    checklist = reverse("checklists:checklist", kwargs={"product": slug, "version": version})
    item = (
        ChecklistItem.objects.filter(checklist__release=world.release, core=True).order_by("position").first()
    )
    assert item is not None
    links = links_for(world, world.pm)
    expected = {
        ("gate_failed", world.gates[0].key): f"#gate-{world.gates[0].key}",
        ("gate_no_result", world.gates[1].key): f"#gate-{world.gates[1].key}",
        ("critical_defect_open", str(world.defect.pk)): f"{checklist}#defect-{world.defect.pk}",
        ("core_item_open", str(item.pk)): f"{checklist}#item-{item.pk}",
        ("signoff_missing", "qa"): "#signoff-qa",
        ("signoff_missing", "backend_lead"): "#signoff-backend_lead",
        ("runbook_missing", "runbook"): f"{product}#runbook",
        ("oncall_missing", "oncall-qa"): f"{product}#oncall-qa",
        ("rollback_rehearsal_missing", "rehearsal"): f"{product}#rehearsals",
    }
    for key, href in expected.items():
        assert links[key]["href"] == href, key
    # The failed gate's row (its summary, its CI run, the waiver form), then its CI run.
    assert (_("CI run"), CI_RUN) in links[("gate_failed", world.gates[0].key)]["more"]
    assert not any(link["external"] for link in links.values())


@pytest.mark.django_db
def test_who_may_fix_it_is_said_to_those_who_may_not(make_user: Any) -> None:
    world = blocked(make_user)
    slug = world.product.slug
    gate = world.gates[0].key
    pm, qa, lead, devops = (links_for(world, u) for u in (world.pm, world.qa, world.lead, world.devops))
    # The PM/PO fixes none of these: each says who does.
    assert pm[("runbook_missing", "runbook")]["who"] == f"Added on the product page by DevOps of {slug}."
    assert pm[("oncall_missing", "oncall-qa")]["who"] == f"Added on the product page by DevOps of {slug}."
    assert (
        pm[("rollback_rehearsal_missing", "rehearsal")]["who"]
        == f"Recorded on the product page by DevOps of {slug}."
    )
    defect = ("critical_defect_open", str(world.defect.pk))
    assert (
        pm[defect]["who"] == f"Resolved on the checklist page by QA, Mobile Lead or Backend Lead of {slug}."
    )
    assert pm[("signoff_missing", "qa")]["who"] == f"Signed on this board by QA of {slug}."
    assert pm[("gate_failed", gate)]["who"] == (
        f"Fixed and run again by Backend Lead of {slug}; or a waiver, asked by QA, Mobile Lead or "
        "Backend Lead and approved by PM/PO."
    )
    assert [label for label, _href in pm[("gate_failed", gate)]["more"]] == [
        _("CI run")
    ]  # no waiver for the PM/PO
    # Those who may fix them see the link alone.
    for key in (
        ("runbook_missing", "runbook"),
        ("oncall_missing", "oncall-qa"),
        ("rollback_rehearsal_missing", "rehearsal"),
    ):
        assert devops[key]["who"] == "", key
        assert qa[key]["who"] != "", key
    assert qa[defect]["who"] == lead[defect]["who"] == "" and devops[defect]["who"] != ""
    assert qa[("signoff_missing", "qa")]["who"] == "" and qa[("signoff_missing", "backend_lead")]["who"] != ""
    assert lead[("gate_failed", gate)]["who"] == ""  # its owner
    assert lead[("gate_failed", gate)]["more"] == [
        (_("CI run"), CI_RUN),
        ("Ask for a waiver", f"#gate-{gate}"),
    ]
    assert qa[("gate_failed", gate)]["who"] == "" and qa[("gate_failed", gate)]["more"]  # QA may ask a waiver
    assert devops[("gate_failed", gate)]["who"] != "" and devops[("gate_failed", gate)]["more"] == [
        (_("CI run"), CI_RUN)
    ]
    assert (
        devops[("gate_no_result", world.gates[1].key)]["who"]
        == f"Reported by CI; Backend Lead of {slug} runs it."
    )


@pytest.mark.django_db
def test_the_board_and_the_dashboard_show_the_links_and_who_may(make_user: Any, client: Client) -> None:
    world = blocked(make_user)
    slug = world.product.slug
    product = reverse("board:product_page", kwargs={"slug": slug})
    board_url = reverse("board:release_board", kwargs={"product": slug, "version": world.release.version})
    client.force_login(world.pm)
    html = client.get(board_url).content.decode()
    runbook = escape("No runbook link for this product.")
    assert f'<a href="{product}#runbook">{runbook}</a> <span class="hint fix-who">' in html
    assert escape(f"Added on the product page by DevOps of {slug}.") in html
    assert f'href="{CI_RUN}" rel="noopener noreferrer" target="_blank"' in html
    client.force_login(world.devops)
    html = client.get(board_url).content.decode()
    assert f'<a href="{product}#runbook">{runbook}</a></li>' in html  # DevOps adds it: no note
    dashboard = client.get(reverse("board:dashboard")).content.decode()
    # Three blockers on a card; a board-relative one gets the board's address.
    assert (
        f'href="{board_url}#gate-{world.gates[0].key}"' in dashboard
        and f'href="{board_url}#gate-{world.gates[1].key}"' in dashboard
    )


@pytest.mark.django_db
def test_the_api_gives_the_same_places(make_user: Any, client: Client) -> None:
    world = blocked(make_user)
    raw = token_issue(name="ci", product=world.product, scopes=("verdict",))[1]
    url = reverse(
        "api:release_verdict", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    body = json.loads(client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").content)
    urls = {b["code"]: b["url"] for b in body["blockers"]}
    every = {b["url"] for b in body["blockers"]}
    checklist = reverse(
        "checklists:checklist", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    assert urls["critical_defect_open"] == f"http://testserver{checklist}#defect-{world.defect.pk}"
    assert urls["runbook_missing"].endswith(f"/products/{world.product.slug}/#runbook")
    assert f"http://testserver/releases/{world.product.slug}/1.0.0/#signoff-qa" in every
