"""The dashboard reads every board at once (`board.dashboard.release_boards`): a fixed
number of queries whatever the number of releases, and for each release the very board
`release_board` builds (issue 13, item 6)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, RoleMembership
from audit.services import audit_record
from board.dashboard import release_boards
from board.decisions import release_decide, signoff_record
from board.lifecycle import release_create
from board.selectors import ReleaseBoard, release_board
from checklists.defects import defect_report
from checklists.models import ChecklistItem
from checklists.services import checklist_item_tick
from gates.models import Gate
from gates.services import gate_result_record, waiver_approve, waiver_request
from integrations.models import ApiToken
from integrations.tokens import token_issue
from releases.models import Release
from releases.selectors import active_releases

from ..releases.builders import SIGNOFF_ROLES, World, build_world, make_ready, sign_all

pytestmark = pytest.mark.django_db


def _another_release(world: World, n: int, state: str = "candidate") -> World:
    """A further release of the world's product (the same gates, on-call, rehearsals)."""
    release = release_create(
        product=world.product,
        version=f"1.{n}.0",
        build=10 + n,
        commit=f"{n:x}" * 40,
        branch=f"release/1.{n}.0",
        state=state,
    )
    return World(world.product, release, world.gates, world.pm, world.qa, world.lead)


def _waive(world: World, gate: Gate, *, approve: bool = True) -> None:
    gate_result_record(
        release=world.release, gate=gate, status="failed", run_id=f"fail-{world.release.pk}-{gate.key}"
    )
    waiver = waiver_request(
        release=world.release,
        gate=gate,
        actor=world.lead,
        reason="Flaky stub",
        risk="Low",
        mitigation="1.0.1",
    )
    if approve:
        waiver_approve(waiver=waiver, actor=world.pm)


def _tick_core(world: World, state: str = "passed") -> None:
    for item in ChecklistItem.objects.filter(checklist__release=world.release, core=True):
        checklist_item_tick(item=item, state=state, actor=world.qa)


def _grant_pm(world: World, user: Any) -> None:
    """A new PM/PO on the product, on record (as the admin records it)."""
    with transaction.atomic():
        membership = RoleMembership.objects.create(user=user, role=Role.PM, product=world.product)
        audit_record(actor=None, actor_label="admin", action="role.grant", obj=membership)


# Six releases of three products, each with its own kind of evidence. The first one has
# every kind of read the boards do (a PM/PO's waiver, a Go whose rules were weakened since,
# with who did it on record), so 1, 3 and 6 releases run the same kinds of query.
def _stale_go_over_a_waiver(make_user: Callable[..., Any], worlds: list[World]) -> None:
    world = build_world(make_user, gates=3, ready=False)
    failing, *passing = world.gates
    _waive(world, failing)
    for g in passing:
        gate_result_record(release=world.release, gate=g, status="passed", run_id=f"run-{g.key}")
    _tick_core(world)
    sign_all(world)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    _grant_pm(world, make_user())
    defect_report(release=world.release, title="Typo", severity="minor", actor=world.qa)
    worlds.append(world)


def _no_go_same_product(make_user: Callable[..., Any], worlds: list[World]) -> None:
    world = _another_release(worlds[0], 1)
    _waive(world, world.gates[0], approve=False)
    defect_report(release=world.release, title="Crash on start", severity="critical", actor=world.qa)
    signoff_record(release=world.release, role=Role.QA, vote="no_go", actor=world.qa, comment="Crash")
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Crash")
    worlds.append(world)


def _standing_go(make_user: Callable[..., Any], worlds: list[World]) -> None:
    world = build_world(make_user)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    worlds.append(world)


def _stale_signoffs_same_product(make_user: Callable[..., Any], worlds: list[World]) -> None:
    world = _another_release(worlds[2], 2)
    make_ready(world)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late-failure")
    defect_report(release=world.release, title="Slow list", severity="major", actor=world.qa)
    worlds.append(world)


def _go_with_a_token_unrevoked(make_user: Callable[..., Any], worlds: list[World]) -> None:
    world = build_world(make_user, ready=False)
    token, _raw = token_issue(name="old-ci", product=world.product, scopes=["results"])
    token_issue(name="reader", product=world.product, scopes=["verdict"])
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    make_ready(world)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=None)
    worlds.append(world)


def _draft_same_product(make_user: Callable[..., Any], worlds: list[World]) -> None:
    world = _another_release(worlds[4], 3, state="draft")
    gate_result_record(release=world.release, gate=world.gates[1], status="running", run_id="draft-run")
    worlds.append(world)


KINDS = [
    _stale_go_over_a_waiver,
    _no_go_same_product,
    _standing_go,
    _stale_signoffs_same_product,
    _go_with_a_token_unrevoked,
    _draft_same_product,
]


def _dashboard_queries(client: Client) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("board:dashboard"))
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_the_dashboard_runs_the_same_queries_for_1_3_and_6_releases(
    make_user: Callable[..., Any], client: Client
) -> None:
    viewer = make_user(Role.PM)  # before any decision: not a new PM/PO under a Go
    client.force_login(viewer)
    _dashboard_queries(client)  # the session and the viewer's roles settle
    worlds: list[World] = []
    counts = {}
    for upto in (1, 3, 6):
        for kind in KINDS[len(worlds) : upto]:
            kind(make_user, worlds)
        assert active_releases().count() == upto
        queries = _dashboard_queries(client)
        counts[upto] = len(queries)
        if upto == 1:
            first = queries
        assert len(queries) == len(first), "\n".join(q[:120] for q in queries)
    assert counts[1] == counts[3] == counts[6]

    # What the cards say came from those queries, for every release.
    page = client.get(reverse("board:dashboard")).content.decode()
    for world in worlds:
        assert f'id="release-{world.release.pk}"' in page
    assert page.count("Go called") == 1  # only the standing Go: the other two are stale


def test_the_release_board_still_reads_a_fixed_number_of_queries(make_user: Callable[..., Any]) -> None:
    """`release_board` keeps its own reads for one release (the rules only when asked)."""
    worlds: list[World] = []
    for kind in KINDS:
        kind(make_user, worlds)
    counts = set()
    for world in worlds:
        release = Release.objects.select_related("product").get(pk=world.release.pk)
        with CaptureQueriesContext(connection) as ctx:
            board = release_board(release)
            _ = board.verdict, board.fingerprint
        counts.add(len(ctx.captured_queries))
    assert len(counts) <= 2, counts  # with or without PM/PO approvers to look up


def _assert_same(batched: ReleaseBoard, single: ReleaseBoard) -> None:
    assert batched == single  # every field: gates, results, waivers, evidence, verdict, …
    assert batched.verdict.blockers == single.verdict.blockers
    assert batched.blocker_items == single.blocker_items
    assert batched.fingerprint == single.fingerprint
    assert [(r["role"], r["fresh"], r["signoff"]) for r in batched.signoff_rows] == [
        (r["role"], r["fresh"], r["signoff"]) for r in single.signoff_rows
    ]
    assert batched.rules == single.rules
    assert batched.rule_changes == single.rule_changes
    assert batched.decision_stale == single.decision_stale
    assert batched.go_stands == single.go_stands
    assert batched.decision_changes() == single.decision_changes()
    assert [r.display_status for r in batched.gates] == [r.display_status for r in single.gates]
    assert [r.may_ask_waiver for r in batched.gates] == [r.may_ask_waiver for r in single.gates]
    assert batched.checklist_progress == single.checklist_progress
    assert [d.pk for d in batched.open_defects] == [d.pk for d in single.open_defects]


def test_each_batched_board_is_the_board_of_its_release(make_user: Callable[..., Any]) -> None:
    worlds: list[World] = []
    for kind in KINDS:
        kind(make_user, worlds)
    now = timezone.now()
    releases = list(active_releases())
    boards = release_boards(releases, now=now)
    assert [b.release.pk for b in boards] == [r.pk for r in releases]
    for board in boards:
        _assert_same(board, release_board(board.release, now=now))
    stale = {b.release.pk for b in boards if b.decision_stale}
    assert stale == {worlds[0].release.pk, worlds[4].release.pk}
    [first] = [b for b in boards if b.release.pk == worlds[0].release.pk]
    assert first.rule_changes[0]["by"] == "admin"
    assert release_boards([]) == []


STATUSES = ["passed", "failed", "running", "skipped", "error", None]


def _random_release(rng: random.Random, make_user: Callable[..., Any], worlds: list[World], n: int) -> None:
    """One release with evidence drawn at random, of a new product or of one already made:
    about half aim at a Go (passed or waived gates, core items passed, every sign-off),
    and a decision may be followed by a change that makes it stale."""
    if worlds and rng.random() < 0.5:
        world = _another_release(rng.choice(worlds), n, state=rng.choice(["candidate", "candidate", "draft"]))
    else:
        world = build_world(make_user, gates=rng.randint(1, 4), ready=False)
    candidate = world.release.state == "candidate"
    aim_go = candidate and rng.random() < 0.6
    for i, gate in enumerate(world.gates):
        if aim_go:
            if rng.random() < 0.3:
                _waive(world, gate)
            else:
                gate_result_record(release=world.release, gate=gate, status="passed", run_id=f"r{n}-{i}")
            continue
        for attempt, status in enumerate(rng.sample(STATUSES, rng.randint(0, 2))):
            if status is not None:
                gate_result_record(
                    release=world.release,
                    gate=gate,
                    status=status,
                    run_id=f"r{n}-{i}",
                    run_attempt=attempt + 1,
                )
        if candidate and rng.random() < 0.4:
            _waive(world, gate, approve=rng.random() < 0.7)
    if not candidate:  # a draft: no checklist yet, no sign-offs
        worlds.append(world)
        return
    _tick_core(world, "passed" if aim_go else rng.choice(["passed", "failed", "blocked"]))
    for _ in range(rng.randint(0, 2)):
        severity = rng.choice(["major", "minor"] if aim_go else ["critical", "major", "minor"])
        defect_report(release=world.release, title=f"Defect {n}", severity=severity, actor=world.qa)
    who = {Role.QA: world.qa, Role.BACKEND_LEAD: world.lead}
    roles = SIGNOFF_ROLES if aim_go else rng.sample(SIGNOFF_ROLES, rng.randint(0, len(SIGNOFF_ROLES)))
    for role in roles:
        vote = "go" if aim_go else rng.choice(["go", "no_go"])
        signoff_record(release=world.release, role=role, vote=vote, actor=who[role], comment="Why")
    world.release.refresh_from_db()
    if rng.random() < 0.8:
        if release_board(world.release).verdict.ready:
            release_decide(release=world.release, outcome="go", actor=world.pm)
        else:
            release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Not yet")
        _after_the_decision(rng, world, make_user, n)
    worlds.append(world)


def _after_the_decision(rng: random.Random, world: World, make_user: Callable[..., Any], n: int) -> None:
    change = rng.choice(["nothing", "nothing", "late_failure", "new_pm", "not_blocking", "new_token"])
    if change == "late_failure":
        gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id=f"late-{n}")
    elif change == "new_pm":
        _grant_pm(world, make_user())
    elif change == "not_blocking":
        with transaction.atomic():
            Gate.objects.filter(pk=world.gates[-1].pk).update(blocking=False)
            audit_record(actor=None, actor_label="admin", action="gate.update", obj=world.gates[-1])
    elif change == "new_token":  # issued since: not a weakening
        token_issue(name=f"ci-{n}", product=world.product, scopes=["results"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_random_boards_read_together_equal_each_board_read_alone(
    make_user: Callable[..., Any], seed: int
) -> None:
    rng = random.Random(seed)
    worlds: list[World] = []
    for n in range(1, 7):
        _random_release(rng, make_user, worlds, n)
    # One release's rehearsal lapsed, and one product lost an on-call contact.
    worlds[0].product.rehearsals.update(performed_on=timezone.localdate() - timedelta(days=400))
    worlds[-1].product.oncall_contacts.filter(role=Role.DEVOPS).delete()
    now = timezone.now()
    releases = list(active_releases())
    for board in release_boards(releases, now=now):
        _assert_same(board, release_board(board.release, now=now))
