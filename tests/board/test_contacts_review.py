"""On-call contacts not reviewed within the product's window block a release like a
missing one (issue 14, item 6); operations blockers link to the product page's section
where DevOps fixes them. Contacts kept before the review date existed count as reviewed
on the upgrade; a policy file's new or changed contact is reviewed when applied."""

from __future__ import annotations

import importlib
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from board.selectors import release_board
from board.verdict import OperationsEvidence, verdict
from operations.models import OnCallContact, Rehearsal
from releases.models import Product

from ..releases.builders import build_world
from .test_verdict import evidence, ops

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROLES = ("qa", "mobile_lead", "backend_lead", "devops")


def reviewed(**when: date | None) -> OperationsEvidence:
    dates = {role: NOW.date() - timedelta(days=10) for role in ROLES} | when
    return ops(oncall_reviewed_on=tuple(sorted(dates.items())), contacts_review_days=90)


def blockers(operations: OperationsEvidence) -> list[tuple[str, str, dict[str, str]]]:
    return [(b.code, b.target_id, dict(b.params)) for b in verdict(evidence(operations=operations)).blockers]


def test_contacts_reviewed_within_the_window_do_not_block() -> None:
    assert blockers(reviewed()) == []
    edge = NOW.date() - timedelta(days=90)  # exactly 90 days ago: still within
    assert blockers(reviewed(devops=edge)) == []


def test_a_contact_reviewed_before_the_window_blocks_saying_since_when() -> None:
    old = NOW.date() - timedelta(days=91)
    assert blockers(reviewed(devops=old)) == [
        ("oncall_not_reviewed", "oncall-devops", {"role": "devops", "date": old.isoformat(), "days": "90"})
    ]
    [blocker] = verdict(evidence(operations=reviewed(devops=date(2026, 8, 1)))).blockers
    assert blocker.message("en") == (
        "On-call contact for DevOps not reviewed since 2026-08-01 (window 90 days)."
    )


def test_a_contact_never_reviewed_blocks() -> None:
    [blocker] = verdict(evidence(operations=reviewed(qa=None))).blockers
    assert (blocker.code, blocker.target, blocker.target_id) == (
        "oncall_never_reviewed",
        "operations",
        "oncall-qa",
    )
    assert blocker.message("en") == "On-call contact for QA has never been reviewed (window 90 days)."


def test_only_required_roles_count_and_a_missing_contact_is_said_once() -> None:
    stale = NOW.date() - timedelta(days=400)
    # PM/PO is not a required role here: its stale contact blocks nothing.
    extra = ops(oncall_reviewed_on=(("pm", stale),), oncall_roles=frozenset({*ROLES, "pm"}))
    assert blockers(extra) == []
    # DevOps has no contact: "missing", not also "not reviewed".
    missing = ops(oncall_roles=frozenset(ROLES) - {"devops"}, oncall_reviewed_on=(("devops", stale),))
    assert [code for code, _id, _p in blockers(missing)] == ["oncall_missing"]


def test_the_window_is_the_products() -> None:
    days_ago = NOW.date() - timedelta(days=40)
    short = ops(oncall_reviewed_on=(("qa", days_ago),), contacts_review_days=30)
    assert blockers(short) == [
        ("oncall_not_reviewed", "oncall-qa", {"role": "qa", "date": days_ago.isoformat(), "days": "30"})
    ]


@pytest.mark.parametrize("code", ["oncall_not_reviewed", "oncall_never_reviewed"])
def test_the_blockers_read_in_korean(code: str) -> None:
    operations = reviewed(devops=None if code == "oncall_never_reviewed" else date(2026, 8, 1))
    [blocker] = verdict(evidence(operations=operations)).blockers
    korean = blocker.message("ko")
    assert korean != blocker.message("en") and "%(" not in korean and "DevOps" in korean


# --- On the board ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stale_contact_blocks_the_release_and_links_to_the_product_page(
    make_user: Any, client: Client
) -> None:
    world = build_world(make_user)
    assert release_board(world.release).verdict.ready
    stale = timezone.localdate() - timedelta(days=world.product.contacts_review_days + 1)
    OnCallContact.objects.filter(product=world.product, role="devops").update(reviewed_on=stale)
    board = release_board(world.release)
    assert [b.code for b in board.verdict.blockers] == ["oncall_not_reviewed"]
    oncall = reverse("board:product_page", kwargs={"slug": world.product.slug}) + "#oncall-devops"
    assert board.blocker_items[0]["href"] == oncall and board.blocker_items[0]["anchor"] == "operations"
    client.force_login(world.pm)
    page = client.get(
        reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    ).content.decode()
    message = f"On-call contact for DevOps not reviewed since {stale.isoformat()} (window 90 days)."
    assert f'<a href="{oncall}">{message}</a>' in page
    dashboard = client.get(reverse("board:dashboard")).content.decode()
    assert f'<a href="{oncall}">{message}</a>' in dashboard
    # DevOps marks it reviewed on the product page: the release is ready again.
    client.force_login(world.devops)
    client.post(
        reverse("board:oncall_update", kwargs={"slug": world.product.slug}),
        {"role": "devops", "reviewed": "1"},
    )
    assert release_board(world.release).verdict.ready


@pytest.mark.django_db
def test_runbook_and_rehearsal_blockers_link_to_their_sections(make_user: Any, client: Client) -> None:
    world = build_world(make_user, ready=False)
    Product.objects.filter(pk=world.product.pk).update(runbook_url="")
    Rehearsal.objects.filter(product=world.product).delete()
    OnCallContact.objects.filter(product=world.product, role="qa").delete()
    world.release.refresh_from_db()
    items = {b["code"]: b for b in release_board(world.release).blocker_items}
    page = reverse("board:product_page", kwargs={"slug": world.product.slug})
    assert items["runbook_missing"]["href"] == f"{page}#runbook"
    assert items["oncall_missing"]["href"] == f"{page}#oncall-qa"
    assert items["rollback_rehearsal_missing"]["href"] == f"{page}#rehearsals"
    gate = next(b for b in items.values() if b["code"].startswith("gate_"))
    assert gate["href"] == f"#{gate['anchor']}"  # on the board itself
    client.force_login(world.pm)
    html = client.get(
        reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    ).content.decode()
    assert f'href="{page}#runbook"' in html and 'id="runbook"' in client.get(page).content.decode()


# --- Upgrades and the policy file -------------------------------------------------------------


@pytest.mark.django_db
def test_contacts_kept_before_the_upgrade_count_as_reviewed_that_day(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    old = timezone.localdate() - timedelta(days=30)
    OnCallContact.objects.filter(product=world.product, role="qa").update(reviewed_on=None)
    OnCallContact.objects.filter(product=world.product, role="devops").update(reviewed_on=old)
    migration = importlib.import_module("operations.migrations.0005_contacts_reviewed_on_upgrade")
    migration.reviewed_on_upgrade(apps, None)
    dates = dict(OnCallContact.objects.filter(product=world.product).values_list("role", "reviewed_on"))
    assert dates["qa"] == timezone.localdate() and dates["devops"] == old


POLICY = textwrap.dedent(
    """
    [[products]]
    slug = "api"
    name = "Backend API"
    platform = "backend"
    [[products.oncall]]
    role = "devops"
    name = "{name}"
    contact = "+82 10-1234-0004"
    """
)


@pytest.mark.django_db
def test_a_policy_files_new_or_changed_contact_is_reviewed_when_applied(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY.format(name="Choi Hyunwoo"), encoding="utf-8")
    call_command("apply_policy", str(path), stdout=None)
    contact = OnCallContact.objects.get(product__slug="api", role="devops")
    assert contact.reviewed_on == timezone.localdate()
    old = timezone.localdate() - timedelta(days=60)
    OnCallContact.objects.filter(pk=contact.pk).update(reviewed_on=old)
    call_command("apply_policy", str(path))  # unchanged: keeps the date DevOps gave it
    contact.refresh_from_db()
    assert contact.reviewed_on == old
    path.write_text(POLICY.format(name="Jung Haneul"), encoding="utf-8")
    call_command("apply_policy", str(path))  # changed: reviewed today
    contact.refresh_from_db()
    assert (contact.name, contact.reviewed_on) == ("Jung Haneul", timezone.localdate())
