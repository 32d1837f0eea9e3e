"""The dashboard's "Waiting for you" (board/waiting.py): per role, what is waiting, with
its release, since when and the link to where it is done; gone once done; a fixed number
of queries whatever the number of releases (issue 15, item 1)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from board.dashboard import release_boards
from board.decisions import release_decide, signoff_record
from board.lifecycle import release_create
from board.rollout import release_halt_by, release_rollout_start
from board.waiting import Waiting, waiting_for
from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick
from gates.services import gate_result_record, waiver_approve, waiver_request
from operations.health import stage_health
from releases.models import Release
from releases.selectors import active_releases
from reviews.services import action_item_create, action_item_update

from ..releases.builders import World, build_world, healthy, make_ready

pytestmark = pytest.mark.django_db


def _waiting(user: Any) -> list[Waiting]:
    releases = list(active_releases())
    boards = release_boards(releases)
    health = {r.pk: stage_health(r) for r in releases if r.state == "rolling_out"}
    return waiting_for(user, boards, health=health)


def _kinds(user: Any) -> list[tuple[str, str]]:
    return [(e.kind, e.release.version if e.release else "") for e in _waiting(user)]


def _board(world: World, anchor: str) -> str:
    url = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    return f"{url}#{anchor}"


def _fail_and_ask(world: World) -> Any:
    gate = world.gates[0]
    gate_result_record(release=world.release, gate=gate, status="failed", run_id="fail-1")
    return waiver_request(
        release=world.release,
        gate=gate,
        actor=world.lead,
        reason="Flaky stub",
        risk="Low",
        mitigation="1.0.1",
    )


def test_a_pm_sees_the_waiver_asked_and_it_goes_once_approved(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    waiver = _fail_and_ask(world)
    [entry] = [e for e in _waiting(world.pm) if e.kind == "waiver"]
    assert entry.release == world.release
    assert entry.href == _board(world, f"waiver-{waiver.pk}")
    assert entry.since == waiver.requested_at
    assert "Gate 0" in entry.what and world.lead.username in entry.detail
    # Not for the lead who asked, nor for a PM/PO of another product.
    other = build_world(make_user, ready=False)
    assert not [e for e in _waiting(other.pm) if e.kind == "waiver"]
    assert not [e for e in _waiting(world.lead) if e.kind == "waiver"]
    waiver_approve(waiver=waiver, actor=world.pm)
    assert not [e for e in _waiting(world.pm) if e.kind == "waiver"]


def test_a_pm_who_asked_is_not_asked_to_approve_it(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    both = make_user(Role.PM, Role.BACKEND_LEAD, product=world.product)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="fail-1")
    waiver_request(
        release=world.release, gate=world.gates[0], actor=both, reason="r", risk="r", mitigation="m"
    )
    assert [e.kind for e in _waiting(world.pm)].count("waiver") == 1
    assert "waiver" not in [e.kind for e in _waiting(both)]


def test_a_lead_is_asked_to_sign_once_their_gates_are_in(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    assert "signoff" not in [e.kind for e in _waiting(world.lead)]  # no result yet
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="a")
    gate_result_record(release=world.release, gate=world.gates[1], status="running", run_id="b")
    assert "signoff" not in [e.kind for e in _waiting(world.lead)]  # one still running
    result = gate_result_record(release=world.release, gate=world.gates[1], status="failed", run_id="b")
    [entry] = [e for e in _waiting(world.lead) if e.kind == "signoff"]  # a failure is evidence too
    assert entry.what == "Sign off as Backend Lead"
    assert entry.href == _board(world, "signoff-backend_lead")
    assert entry.since == result.result.observed_at
    assert "signoff" not in [e.kind for e in _waiting(world.pm)]  # the PM/PO signs in no role here
    signoff_record(
        release=world.release, role=Role.BACKEND_LEAD, vote="no_go", actor=world.lead, comment="e2e"
    )
    assert "signoff" not in [e.kind for e in _waiting(world.lead)]


def test_a_stale_sign_off_is_asked_again(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user)  # ready: every sign-off given
    assert "signoff" not in [e.kind for e in _waiting(world.lead)]
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
    # A gate getting worse makes the sign-off stale (docs/concepts.md): asked again.
    [entry] = [e for e in _waiting(world.lead) if e.kind == "signoff"]
    assert entry.what.startswith("Sign off again as Backend Lead")


def test_a_mobile_lead_signs_for_their_own_gate(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    world.product.signoff_roles = [*world.product.signoff_roles, Role.MOBILE_LEAD]
    world.product.save(update_fields=["signoff_roles"])
    mobile = make_user(Role.MOBILE_LEAD, product=world.product)
    gate = world.gates[0]
    gate.owner_role = Role.MOBILE_LEAD
    gate.save(update_fields=["owner_role"])
    assert "signoff" not in [e.kind for e in _waiting(mobile)]
    gate_result_record(release=world.release, gate=gate, status="passed", run_id="m")
    # The backend lead's gate (1) has no result: only the mobile lead is asked.
    assert [e.kind for e in _waiting(mobile)] == ["signoff"]
    assert "signoff" not in [e.kind for e in _waiting(world.lead)]


def test_qa_is_asked_to_tick_the_open_core_scenarios(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    items = list(
        ChecklistItem.objects.filter(checklist__release=world.release, core=True).order_by("position")
    )
    [entry] = [e for e in _waiting(world.qa) if e.kind == "core"]
    assert entry.what == "2 core scenarios to tick" and entry.detail == "Core 0"
    checklist = reverse("checklists:checklist", kwargs={"product": world.product.slug, "version": "1.0.0"})
    assert entry.href == f"{checklist}#item-{items[0].pk}"
    checklist_item_tick(item=items[0], state="passed", actor=world.qa)
    [entry] = [e for e in _waiting(world.qa) if e.kind == "core"]
    assert entry.what == "1 core scenario to tick" and entry.href.endswith(f"#item-{items[1].pk}")
    checklist_item_tick(item=items[1], state="failed", actor=world.qa)
    assert "core" not in [e.kind for e in _waiting(world.qa)]
    assert "core" not in [e.kind for e in _waiting(world.lead)]


def test_the_pm_is_told_a_release_is_ready_for_the_call(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    assert "call" not in [e.kind for e in _waiting(world.pm)]
    make_ready(world)
    [entry] = [e for e in _waiting(world.pm) if e.kind == "call"]
    assert entry.href == _board(world, "decision") and entry.what == "Ready for the call: Go or No-Go"
    assert "call" not in [e.kind for e in _waiting(world.lead)]
    release_decide(release=world.release, outcome="go", actor=world.pm)
    assert "call" not in [e.kind for e in _waiting(world.pm)]


def test_devops_starts_advances_and_handles_a_halt(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user)
    world.product.soak_minutes = 30
    world.product.save(update_fields=["soak_minutes"])
    assert _kinds(world.devops) == []
    decision = release_decide(release=world.release, outcome="go", actor=world.pm)
    [entry] = _waiting(world.devops)
    assert (entry.kind, entry.since, entry.href) == (
        "start",
        decision.decided_at,
        _board(world, "operations"),
    )
    assert _kinds(world.pm) == []  # the call is made; the rollout is DevOps'
    release = release_rollout_start(release=world.release, actor=world.devops)
    assert _kinds(world.devops) == []  # soaking, no health sample yet
    healthy(release)
    assert _kinds(world.devops) == []  # in bounds, but the soak is not over
    Release.objects.filter(pk=release.pk).update(
        rollout_stage_started_at=timezone.now() - timedelta(minutes=release.product.soak_minutes + 1)
    )
    healthy(release)
    [entry] = _waiting(world.devops)
    assert entry.kind == "advance" and entry.what == "Stage 1 % may advance to 5 %"
    release = release_halt_by(release=Release.objects.get(pk=release.pk), actor=world.devops, reason="5xx up")
    [entry] = _waiting(world.devops)
    assert (entry.kind, entry.detail) == ("halt", "5xx up")
    assert entry.what == "Rollout halted at 1 %: resume or roll back"
    assert _kinds(world.qa) == []


def test_a_halt_comes_first(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    release = release_rollout_start(release=world.release, actor=world.devops)
    release_halt_by(release=release, actor=world.devops, reason="Crash")
    other = release_create(
        product=world.product, version="1.1.0", build=11, commit="b" * 40, branch="r", state="candidate"
    )
    for gate in world.gates:
        gate_result_record(release=other, gate=gate, status="passed", run_id=f"x-{gate.pk}")
    devops_and_lead = make_user(Role.DEVOPS, Role.BACKEND_LEAD, product=world.product)
    kinds = [e.kind for e in _waiting(devops_and_lead)]
    assert kinds[0] == "halt" and "signoff" in kinds


def test_action_items_due_today_or_overdue_for_their_owner(make_user: Callable[..., Any]) -> None:
    world = build_world(make_user, ready=False)
    today = timezone.localdate()
    owner = world.lead.username
    overdue = action_item_create(
        actor=world.pm, title="Fix the flaky stub", owner=owner, due_on=today - timedelta(2)
    )
    due = action_item_create(actor=world.pm, title="Pin the SDK", owner=owner, due_on=today)
    action_item_create(actor=world.pm, title="Later", owner=owner, due_on=today + timedelta(days=3))
    action_item_create(actor=world.pm, title="No date", owner=owner)
    action_item_create(actor=world.pm, title="Someone else's", owner=world.qa.username, due_on=today)
    entries = [e for e in _waiting(world.lead) if e.kind == "action"]
    assert [e.what for e in entries] == ["Action item: Fix the flaky stub", "Action item: Pin the SDK"]
    assert [e.overdue for e in entries] == [True, False]
    year, week, _day = today.isocalendar()
    review = reverse("reviews:week", kwargs={"year": year, "week": week})
    assert entries[0].href == f"{review}#action-{overdue.pk}"
    action_item_update(item=due, actor=world.lead, state="done")
    assert [e.what for e in _waiting(world.lead) if e.kind == "action"] == ["Action item: Fix the flaky stub"]


def test_nothing_waits_for_a_superuser_without_roles_or_anyone_signed_out(
    make_user: Callable[..., Any],
) -> None:
    world = build_world(make_user, ready=False)
    _fail_and_ask(world)
    admin = make_user(is_superuser=True, is_staff=True)
    assert _waiting(admin) == []
    assert _waiting(AnonymousUser()) == []


def test_the_dashboard_shows_the_section_first_and_says_when_nothing_waits(
    make_user: Callable[..., Any], client: Client
) -> None:
    world = build_world(make_user, ready=False)
    waiver = _fail_and_ask(world)
    client.force_login(world.pm)
    page = client.get(reverse("board:dashboard")).content.decode()
    assert page.index("Waiting for you") < page.index("Releases in progress")
    assert f'href="{_board(world, f"waiver-{waiver.pk}")}"' in page
    assert f'id="waiting-waiver-{waiver.pk}"' in page
    panel = client.get(reverse("board:dashboard"), headers={"HX-Request": "true", "HX-Target": "waiting"})
    body = panel.content.decode()
    assert body.lstrip().startswith("<section") and 'id="waiting"' in body
    assert "Releases in progress" not in body
    client.force_login(world.devops)
    assert "Nothing is waiting for you." in client.get(reverse("board:dashboard")).content.decode()


def _world_with_everything(make_user: Callable[..., Any], n: int, viewer: Any) -> None:
    """A release with one of each kind of pending work for `viewer` (PM/PO, QA, lead and
    DevOps of every product)."""
    world = build_world(make_user, ready=False)
    _fail_and_ask(world)
    gate_result_record(release=world.release, gate=world.gates[1], status="passed", run_id=f"p{n}")
    action_item_create(actor=world.pm, title=f"Item {n}", owner=viewer.username, due_on=timezone.localdate())
    ready = build_world(make_user)
    release_decide(release=ready.release, outcome="go", actor=ready.pm)
    release = release_rollout_start(release=ready.release, actor=ready.devops)
    Release.objects.filter(pk=release.pk).update(
        rollout_stage_started_at=timezone.now() - timedelta(minutes=release.product.soak_minutes + 1)
    )
    healthy(release)


def test_a_fixed_number_of_queries_for_1_and_5_releases_of_each_kind(
    make_user: Callable[..., Any], django_assert_max_num_queries: Any
) -> None:
    """The roles (once per request) and the action items: nothing per release."""
    viewer = make_user(Role.PM, Role.QA, Role.BACKEND_LEAD, Role.DEVOPS)
    _world_with_everything(make_user, 0, viewer)
    counts = {}
    for upto in (1, 5):
        while active_releases().count() < 2 * upto:
            _world_with_everything(make_user, active_releases().count(), viewer)
        releases = list(active_releases())
        boards = release_boards(releases)
        health = {r.pk: stage_health(r) for r in releases if r.state == "rolling_out"}
        viewer = type(viewer).objects.get(pk=viewer.pk)  # its roles read afresh
        with django_assert_max_num_queries(2) as ctx:
            entries = waiting_for(viewer, boards, health=health)
        counts[upto] = len(ctx.captured_queries)
        kinds = {e.kind for e in entries}
        assert {"waiver", "signoff", "core", "advance", "action"} <= kinds, kinds
    assert counts[1] == counts[5]
