"""Release services: version and build rules, lifecycle, sign-offs and the final call."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from accounts.models import Role
from audit.models import AuditEvent
from gates.services import gate_result_record
from gonogo.errors import Conflict, NotAllowed, RuleViolation
from releases.models import ACTIVE_STATES, RELEASE_TRANSITIONS, Decision, Release, ReleaseState, SignOff
from releases.selectors import release_board
from releases.services import (
    SEMVER_RE,
    release_cancel,
    release_create,
    release_decide,
    release_new_build,
    release_promote,
    signoff_record,
)

from .builders import build_world
from .factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_create_writes_release_and_audit_and_raises_last_build() -> None:
    product = ProductFactory()
    release = release_create(product=product, version="2.4.0", build="1240", commit="3484A3FB81")
    product.refresh_from_db()
    assert release.state == ReleaseState.DRAFT and release.commit_sha == "3484a3fb81"
    assert product.last_build_number == 1240
    assert AuditEvent.objects.filter(action="release.create", object_id=str(release.pk)).count() == 1


@pytest.mark.parametrize("version", ["2.4", "v2.4.0", "2.4.0.1", "02.4.0", "", "2.4.0-", "latest"])
def test_version_must_be_semantic(version: str) -> None:
    with pytest.raises(RuleViolation) as exc:
        release_create(product=ProductFactory(), version=version, build=1)
    assert exc.value.code == "version_not_semantic" and exc.value.field == "version"
    assert "MAJOR.MINOR.PATCH" in exc.value.message


@pytest.mark.parametrize(
    "version", ["0.0.1", "2.4.0", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha+001", "1.0.0+20130313"]
)
def test_semantic_versions_accepted(version: str) -> None:
    assert release_create(product=ProductFactory(), version=version, build=1).version == version


@pytest.mark.parametrize("build", [1240, 1239, 5])
def test_build_number_at_or_below_last_is_refused_naming_the_last(build: int) -> None:
    product = ProductFactory()
    release_create(product=product, version="2.4.0", build=1240)
    with pytest.raises(RuleViolation) as exc:
        release_create(product=product, version="2.5.0", build=build)
    assert exc.value.code == "build_number_not_increasing"
    assert "1240" in exc.value.message and str(build) in exc.value.message
    assert exc.value.extra["last_accepted"] == 1240
    assert Release.objects.filter(product=product).count() == 1


@pytest.mark.parametrize("build", ["abc", "0", "-3", "", "1.5"])
def test_build_number_must_be_a_positive_integer(build: str) -> None:
    with pytest.raises(RuleViolation) as exc:
        release_create(product=ProductFactory(), version="1.0.0", build=build)
    assert exc.value.code == "build_number_invalid"


def test_same_version_twice_is_refused_and_unique_in_the_database() -> None:
    product = ProductFactory()
    release_create(product=product, version="1.0.0", build=1)
    with pytest.raises(RuleViolation) as exc:
        release_create(product=product, version="1.0.0", build=2)
    assert exc.value.code == "version_exists"
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(
            product=product,
            version="1.0.0",
            build_number=99,
            state="draft",
            state_changed_at=product_now(),
            created_at=product_now(),
        )


def product_now() -> Any:
    from django.utils import timezone

    return timezone.now()


def test_build_numbers_are_per_product() -> None:
    release_create(product=ProductFactory(slug="a"), version="1.0.0", build=50)
    assert release_create(product=ProductFactory(slug="b"), version="1.0.0", build=1).build_number == 1


def test_state_is_constrained_in_the_database() -> None:
    from django.db import IntegrityError, transaction

    release = release_create(product=ProductFactory(), version="1.0.0", build=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.filter(pk=release.pk).update(state="shipped")


def test_new_build_moves_no_go_back_to_candidate_and_stales_signoffs(make_user: Any) -> None:
    world = build_world(make_user)
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Crash on launch")
    assert world.refresh().state == ReleaseState.NO_GO
    with pytest.raises(RuleViolation):
        release_new_build(release=world.release, build=10, commit="b" * 40)
    release_new_build(release=world.release, build=11, commit="b" * 40)
    release = world.refresh()
    assert (release.state, release.build_number, release.commit_sha) == ("candidate", 11, "b" * 40)
    board = release_board(release)
    assert {b.code for b in board.verdict.blockers} >= {"signoff_stale", "gate_no_result"}


def test_signoff_needs_the_role(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    with pytest.raises(NotAllowed):
        signoff_record(release=world.release, role=Role.QA, vote="go", actor=world.lead)
    with pytest.raises(RuleViolation):
        signoff_record(release=world.release, role=Role.MOBILE_LEAD, vote="go", actor=world.lead)
    with pytest.raises(RuleViolation):
        signoff_record(release=world.release, role=Role.QA, vote="no_go", actor=world.qa, comment="  ")
    other_product_qa = make_user(Role.QA, product=ProductFactory())
    with pytest.raises(NotAllowed):
        signoff_record(release=world.release, role=Role.QA, vote="go", actor=other_product_qa)
    assert not SignOff.objects.exists()


def test_signoff_goes_stale_when_a_gate_changes_state(make_user: Any) -> None:
    world = build_world(make_user)
    assert release_board(world.release).verdict.ready
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="r2")
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="r3")
    board = release_board(world.release)
    assert [b.code for b in board.verdict.blockers] == ["signoff_stale", "signoff_stale"]


def test_a_rerun_that_passes_again_keeps_signoffs_fresh(make_user: Any) -> None:
    world = build_world(make_user)
    gate_result_record(release=world.release, gate=world.gates[0], status="passed", run_id="rerun")
    assert release_board(world.release).verdict.ready


def test_an_older_run_never_overrides_a_newer_one(make_user: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    world = build_world(make_user)
    old = timezone.now() - timedelta(hours=2)
    gate_result_record(
        release=world.release, gate=world.gates[0], status="failed", run_id="old", observed_at=old
    )
    row = next(r for r in release_board(world.release).gates if r.gate == world.gates[0])
    assert row.status == "passed"


def test_go_refused_while_blocked_and_nothing_written(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    events = AuditEvent.objects.count()
    with pytest.raises(Conflict) as exc:
        release_decide(release=world.release, outcome="go", actor=world.pm)
    assert exc.value.code == "not_ready"
    assert exc.value.extra["blockers"], "the refusal lists the blockers"
    assert not Decision.objects.exists()
    assert world.refresh().state == ReleaseState.CANDIDATE
    assert AuditEvent.objects.count() == events


def test_go_when_ready_freezes_the_evidence(make_user: Any) -> None:
    world = build_world(make_user)
    decision = release_decide(release=world.release, outcome="go", actor=world.pm, rationale="All green")
    assert world.refresh().state == ReleaseState.GO
    assert decision.snapshot["ready"] is True and decision.decided_by == world.pm
    assert set(decision.snapshot["gates"]) == {g.key for g in world.gates}
    assert AuditEvent.objects.filter(action="release.decide", release_id=world.release.pk).exists()
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
    assert release_board(world.release).decision_stale


def test_only_pm_decides_and_no_go_needs_a_reason(make_user: Any) -> None:
    world = build_world(make_user)
    with pytest.raises(NotAllowed):
        release_decide(release=world.release, outcome="go", actor=world.lead)
    with pytest.raises(RuleViolation):
        release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale=" ")
    release_decide(release=world.release, outcome="no_go", actor=world.pm, rationale="Store review pending")
    assert world.refresh().state == ReleaseState.NO_GO


def test_cancel_needs_reason_and_a_legal_state(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    with pytest.raises(RuleViolation):
        release_cancel(release=world.release, actor=world.pm, reason="")
    release_cancel(release=world.release, actor=world.pm, reason="Superseded by 1.0.1")
    with pytest.raises(Conflict):
        release_promote(release=world.release)


def test_semver_regex_matches_the_spec_examples() -> None:
    assert SEMVER_RE.match("1.0.0-x.7.z.92")
    assert not SEMVER_RE.match("1.0.0-01")


# --- the lifecycle as a state machine --------------------------------------------------

ALL_STATES = list(ReleaseState.values)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ALL_STATES), max_size=12))
def test_lifecycle_only_moves_along_declared_edges(path: list[str]) -> None:
    """Walk random target sequences over the transition table: terminal states stay terminal,
    and every state is reachable from draft."""
    state = ReleaseState.DRAFT
    for target in path:
        if target in RELEASE_TRANSITIONS[state]:
            state = target
        if state in (ReleaseState.CANCELLED, ReleaseState.ROLLED_BACK):
            assert RELEASE_TRANSITIONS[state] == frozenset()
    reachable = {ReleaseState.DRAFT.value}
    frontier = [ReleaseState.DRAFT.value]
    while frontier:
        for nxt in RELEASE_TRANSITIONS[frontier.pop()]:
            if nxt not in reachable:
                reachable.add(nxt)
                frontier.append(nxt)
    assert reachable == set(ALL_STATES)
    assert ReleaseState.GO not in RELEASE_TRANSITIONS[ReleaseState.NO_GO], (
        "No-Go reopens only via a new build"
    )


class ReleaseLifecycle(RuleBasedStateMachine):
    """Drive the real services in random order; the database state always matches a model
    of the lifecycle, and a Go never stands on a blocked verdict."""

    def __init__(self) -> None:
        super().__init__()
        from django.contrib.auth import get_user_model

        counter = get_user_model().objects.count()

        def make_user(*roles: str, product: Any = None) -> Any:
            nonlocal counter
            counter += 1
            user = get_user_model().objects.create_user(username=f"sm-{counter}")
            from accounts.models import RoleMembership

            for role in roles:
                RoleMembership.objects.create(user=user, role=role, product=product)
            return user

        self.world = build_world(make_user, ready=False)
        self.expected = ReleaseState.CANDIDATE
        self.build = 10

    def _try(self, fn: Any, target: str | None) -> None:
        try:
            fn()
        except (Conflict, RuleViolation, NotAllowed):
            return
        if target is not None:
            self.expected = target

    @rule()
    def make_ready(self) -> None:
        from .builders import make_ready

        if self.world.refresh().state in (ReleaseState.CANDIDATE, ReleaseState.GO, ReleaseState.NO_GO):
            make_ready(self.world)

    @rule(status=st.sampled_from(["passed", "failed"]))
    def gate_result(self, status: str) -> None:
        gate_result_record(release=self.world.release, gate=self.world.gates[0], status=status)

    @rule()
    def decide_go(self) -> None:
        ready = release_board(self.world.refresh()).verdict.ready
        before = self.expected
        self._try(
            lambda: release_decide(release=self.world.release, outcome="go", actor=self.world.pm),
            ReleaseState.GO,
        )
        if not ready:
            assert self.expected == before

    @rule()
    def decide_no_go(self) -> None:
        self._try(
            lambda: release_decide(
                release=self.world.release, outcome="no_go", actor=self.world.pm, rationale="r"
            ),
            ReleaseState.NO_GO,
        )

    @rule()
    def new_build(self) -> None:
        self.build += 1
        state = self.world.refresh().state
        target = ReleaseState.CANDIDATE if state in (ReleaseState.GO, ReleaseState.NO_GO) else state
        self._try(
            lambda: release_new_build(
                release=self.world.release, build=self.build, commit=f"{self.build:040x}"
            ),
            target,
        )

    @rule()
    def cancel(self) -> None:
        self._try(
            lambda: release_cancel(release=self.world.release, actor=self.world.pm, reason="x"),
            ReleaseState.CANCELLED,
        )

    @invariant()
    def state_matches_model(self) -> None:
        release = self.world.refresh()
        assert release.state == self.expected
        if release.state == ReleaseState.GO:
            decision = Decision.objects.filter(release=release).first()
            assert decision is not None and decision.outcome == "go" and decision.snapshot["ready"]
        assert (release.state in ACTIVE_STATES) == (release.state != ReleaseState.CANCELLED)


ReleaseLifecycle.TestCase.settings = settings(max_examples=15, stateful_step_count=12, deadline=None)


@pytest.mark.django_db(transaction=True)
def test_release_lifecycle_state_machine() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        ReleaseLifecycle, settings=settings(max_examples=10, stateful_step_count=10, deadline=None)
    )
