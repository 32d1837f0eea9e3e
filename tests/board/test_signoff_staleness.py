"""A sign-off goes stale only for a reason, and says which (board/staleness.py,
docs/concepts.md "When a sign-off goes stale"): as properties, through the real services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import Role
from board.dashboard import release_boards
from board.decisions import signoff_record
from board.selectors import ReleaseBoard, release_board
from board.staleness import News, signoff_stale_reason
from checklists.defects import defect_reopen, defect_report, defect_resolve, defect_sync
from checklists.models import ChecklistItem, Defect
from checklists.services import checklist_item_tick
from gates.models import Gate, Waiver
from gates.services import gate_result_record, waiver_approve, waiver_request, waiver_revoke
from releases.lifecycle import release_new_build
from releases.models import Release

from ..gates.factories import GateFactory
from ..releases.builders import World, build_world

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
ROLES = ("qa", "backend_lead", "mobile_lead")


# --- The rule itself, on plain values -----------------------------------------------------

news_st = st.builds(
    News,
    code=st.sampled_from(["gate_failed", "defect_critical", "waiver_granted", "core_failed"]),
    at=st.integers(min_value=-600, max_value=600).map(lambda s: T0 + timedelta(seconds=s)),
    params=st.just((("gate", "E2E"), ("title", "t"), ("at", T0.isoformat()))),
    role=st.sampled_from(["", *ROLES]),
)


@given(st.lists(news_st, max_size=8), st.sampled_from(ROLES))
def test_only_news_since_the_signoff_that_concerns_the_role_makes_it_stale(
    news: list[News], role: str
) -> None:
    reason = signoff_stale_reason(
        role=role,
        signed_at=T0,
        signed_on={"build_number": 7, "commit_sha": "a" * 40},
        build_number=7,
        commit_sha="a" * 40,
        news=news,
    )
    mine = [n for n in news if n.at > T0 and n.role in ("", role)]
    if not mine:
        assert reason is None
    else:
        first = min(mine, key=lambda n: n.at)
        assert reason is not None and reason.code == first.code


@given(st.lists(news_st, max_size=4), st.integers(min_value=8, max_value=99))
def test_a_new_build_always_makes_it_stale_and_says_so_first(news: list[News], build: int) -> None:
    reason = signoff_stale_reason(
        role="qa",
        signed_at=T0,
        signed_on={"build_number": 7, "commit_sha": "a" * 40},
        build_number=build,
        commit_sha="a" * 40,
        news=news,
    )
    assert reason is not None and reason.code == "build" and str(build) in reason.message()


# --- Through the services: the board, the dashboard and the verdict agree -----------------


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back() -> Iterator[None]:
    """One hypothesis example in a savepoint undone afterwards: examples do not see each other."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


@dataclass
class Scene:
    world: World
    running: Gate  # Gate 0, backend lead's: running when signed
    failing: Gate  # Gate 1, backend lead's: failed, a waiver asked, not decided
    waived: Gate  # Gate 2, backend lead's: failed, carried by an approved waiver
    mobile: Gate  # mobile lead's (who does not sign): failed, a waiver asked by QA
    own_request: Waiver
    own_approved: Waiver
    other_request: Waiver
    done: list[str] = field(default_factory=list)

    @property
    def release(self) -> Release:
        return self.world.release


def _result(scene: Scene, gate: Gate, status: str) -> None:
    scene.done.append(f"{gate.key}:{status}")
    gate_result_record(
        release=scene.release, gate=gate, status=status, run_id=f"{gate.key}-{len(scene.done)}"
    )


def _waiver(world: World, gate: Gate, actor: Any) -> Waiver:
    return waiver_request(
        release=world.release, gate=gate, actor=actor, reason="Flaky", risk="Low", mitigation="Flag"
    )


TRACKED = "https://tracker.example.com/T-1"


def set_scene(make_user: Callable[..., Any]) -> Scene:
    world = build_world(make_user, gates=3, core_items=3, ready=False)
    mobile: Gate = GateFactory(
        key=f"{world.product.slug}-mob", name="Mobile smoke", owner_role=Role.MOBILE_LEAD
    )  # type: ignore[assignment]
    mobile.products.set([world.product])
    running, failing, waived = world.gates
    gate_result_record(release=world.release, gate=running, status="running", run_id="r0")
    for gate in (failing, waived, mobile):
        gate_result_record(release=world.release, gate=gate, status="failed", run_id=f"{gate.key}-0")
    own_request = _waiver(world, failing, world.lead)
    own_approved = waiver_approve(waiver=_waiver(world, waived, world.lead), actor=world.pm)
    other_request = _waiver(world, mobile, world.qa)
    items = list(ChecklistItem.objects.filter(checklist__release=world.release, core=True).order_by("id"))
    checklist_item_tick(item=items[0], state="passed", actor=world.qa)
    defect_report(release=world.release, title="Crash on login", severity="critical", actor=world.qa)
    defect_report(release=world.release, title="Slow list", severity="major", actor=world.qa)
    old = defect_report(release=world.release, title="Old crash", severity="critical", actor=world.qa)
    defect_resolve(defect=old, actor=world.qa, resolution="Fixed in build 9")
    defect_sync(
        release=world.release, title="Tracker bug", severity="major", tracker_url=TRACKED, actor_label="jira"
    )
    signoff_record(release=world.release, role=Role.QA, vote="go", actor=world.qa, comment="Ready once green")
    signoff_record(
        release=world.release, role=Role.BACKEND_LEAD, vote="go", actor=world.lead, comment="Waiver asked"
    )
    return Scene(world, running, failing, waived, mobile, own_request, own_approved, other_request)


def _open_item(scene: Scene, *states: str) -> ChecklistItem | None:
    return (
        ChecklistItem.objects.filter(checklist__release=scene.release, core=True, state__in=states)
        .order_by("id")
        .first()
    )


# What a signer was waiting for (or what is no news): never makes a sign-off stale.
def _gate0_passes(s: Scene) -> None:
    _result(s, s.running, "passed")


def _gate0_reruns(s: Scene) -> None:
    _result(s, s.running, "running")


def _failing_reruns(s: Scene) -> None:
    _result(s, s.failing, "running")


def _mobile_passes(s: Scene) -> None:
    _result(s, s.mobile, "passed")


def _other_waiver_approved(s: Scene) -> None:
    s.other_request.refresh_from_db()
    if s.other_request.state == "requested":
        waiver_approve(waiver=s.other_request, actor=s.world.pm)


def _critical_resolved(s: Scene) -> None:
    defect = Defect.objects.filter(release=s.release, state="open", severity="critical").first()
    if defect is not None:
        defect_resolve(defect=defect, actor=s.world.qa, resolution="Fixed in build 10")


def _major_resolved(s: Scene) -> None:
    defect = Defect.objects.filter(release=s.release, state="open", severity="major").first()
    if defect is not None:
        defect_resolve(defect=defect, actor=s.world.lead, resolution="Fixed")


def _core_passed(s: Scene) -> None:
    item = _open_item(s, "open")
    if item is not None:
        checklist_item_tick(item=item, state="passed", actor=s.world.qa)


def _minor_reported(s: Scene) -> None:
    defect_report(release=s.release, title="Typo", severity="minor", actor=s.world.qa)


IMPROVEMENTS = {
    f.__name__: f
    for f in (
        _gate0_passes,
        _gate0_reruns,
        _failing_reruns,
        _mobile_passes,
        _other_waiver_approved,
        _critical_resolved,
        _major_resolved,
        _core_passed,
        _minor_reported,
    )
}


# Bad news, and waiver changes on a role's own gate: (what to do, roles made stale, words
# the reason says).
def _gate0_fails(s: Scene) -> str:
    _result(s, s.running, "failed")
    return "“Gate 0” failed at"


def _waived_gate_errors_after_a_rerun(s: Scene) -> str:
    _result(s, s.waived, "running")
    _result(s, s.waived, "error")
    return "“Gate 2” did not finish"


def _mobile_skipped_after_passing(s: Scene) -> str:
    _result(s, s.mobile, "passed")
    _result(s, s.mobile, "skipped")
    return "“Mobile smoke” was skipped"


def _critical_reported(s: Scene) -> str:
    defect_report(release=s.release, title="Payment fails", severity="critical", actor=s.world.lead)
    return "“Payment fails”"


def _defect_reopened(s: Scene) -> str:
    defect_reopen(defect=Defect.objects.get(release=s.release, title="Old crash"), actor=s.world.qa)
    return "“Old crash” was reopened"


def _core_failed(s: Scene) -> str:
    item = _open_item(s, "open", "passed")
    assert item is not None
    checklist_item_tick(item=item, state="failed", actor=s.world.qa)
    return f"“{item.title}” failed"


def _raised_to_critical(s: Scene) -> str:
    defect_sync(
        release=s.release, title="Tracker bug", severity="critical", tracker_url=TRACKED, actor_label="jira"
    )
    return "“Tracker bug”"


def _new_build(s: Scene) -> str:
    release_new_build(release=s.release, build=11, commit="b" * 40, actor=s.world.pm)
    s.world.refresh()
    return "a new build (11"


def _own_waiver_approved(s: Scene) -> str:
    waiver_approve(waiver=s.own_request, actor=s.world.pm)
    return "waiver for “Gate 1” was approved"


def _own_waiver_revoked(s: Scene) -> str:
    waiver_revoke(waiver=s.own_approved, actor=s.world.pm)
    return "waiver for “Gate 2” was revoked"


EVERYONE = frozenset({"qa", "backend_lead"})
WORSENINGS = {
    f.__name__: (f, roles)
    for f, roles in (
        (_gate0_fails, EVERYONE),
        (_waived_gate_errors_after_a_rerun, EVERYONE),
        (_mobile_skipped_after_passing, EVERYONE),
        (_critical_reported, EVERYONE),
        (_defect_reopened, EVERYONE),
        (_raised_to_critical, EVERYONE),
        (_core_failed, EVERYONE),
        (_new_build, EVERYONE),
        (_own_waiver_approved, frozenset({"backend_lead"})),  # the gate's owner only
        (_own_waiver_revoked, frozenset({"backend_lead"})),
    )
}


def _stale(board: ReleaseBoard) -> dict[str, str]:
    """Role → why its sign-off is stale, as the board shows it; the verdict and the
    dashboard's read of the same release must say the same."""
    rows = {r["role"]: r["stale_reason"] for r in board.signoff_rows if r["signoff"] and not r["fresh"]}
    blockers = {b.target_id: b.message("en") for b in board.verdict.blockers if b.code == "signoff_stale"}
    assert set(blockers) == set(rows)
    for role, why in rows.items():
        assert why and why in blockers[role], (why, blockers[role])
    release = Release.objects.select_related("product").get(pk=board.release.pk)
    assert release_boards([release])[0].signoff_stale == board.signoff_stale
    return rows


SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(steps=st.lists(st.sampled_from(sorted(IMPROVEMENTS)), max_size=7))
def test_improvements_never_make_a_signoff_stale(make_user: Callable[..., Any], steps: list[str]) -> None:
    with rolled_back():
        scene = set_scene(make_user)
        assert _stale(release_board(scene.release)) == {}
        for step in steps:
            IMPROVEMENTS[step](scene)
            assert _stale(release_board(scene.release)) == {}, step


@SETTINGS
@given(
    before=st.lists(st.sampled_from(sorted(IMPROVEMENTS)), max_size=4),
    worsening=st.sampled_from(sorted(WORSENINGS)),
    after=st.lists(st.sampled_from(sorted(IMPROVEMENTS)), max_size=3),
)
def test_any_worsening_makes_it_stale_and_the_reason_names_it(
    make_user: Callable[..., Any], before: list[str], worsening: str, after: list[str]
) -> None:
    with rolled_back():
        scene = set_scene(make_user)
        for step in before:
            IMPROVEMENTS[step](scene)
        act, roles = WORSENINGS[worsening]
        words = act(scene)
        for step in after:  # good news afterwards does not undo it: it stays news
            if worsening != "_new_build":  # a new build's sign-offs: nothing to improve on
                IMPROVEMENTS[step](scene)
        stale = _stale(release_board(scene.release))
        assert set(stale) == roles, (worsening, stale)
        for role in roles:
            assert words in stale[role], (words, stale[role])


def test_a_signoff_given_again_is_fresh(make_user: Callable[..., Any]) -> None:
    scene = set_scene(make_user)
    _gate0_fails(scene)
    assert set(_stale(release_board(scene.release))) == EVERYONE
    signoff_record(release=scene.release, role=Role.QA, vote="no_go", actor=scene.world.qa, comment="Gate 0")
    assert set(_stale(release_board(scene.release))) == {"backend_lead"}


def test_the_reason_shows_on_the_board(make_user: Callable[..., Any], client: Any) -> None:
    scene = set_scene(make_user)
    _gate0_fails(scene)
    client.force_login(scene.world.qa)
    url = reverse("board:release_board", args=[scene.world.product.slug, scene.release.version])
    page = client.get(url).content.decode()
    assert "stale: “Gate 0” failed at" in page


@pytest.mark.parametrize("worsening", sorted(WORSENINGS))
def test_each_worsening_alone(make_user: Callable[..., Any], worsening: str) -> None:
    """Every kind of bad news, whatever hypothesis happened to draw."""
    scene = set_scene(make_user)
    act, roles = WORSENINGS[worsening]
    words = act(scene)
    stale = _stale(release_board(scene.release))
    assert set(stale) == roles and all(words in stale[r] for r in roles), stale
