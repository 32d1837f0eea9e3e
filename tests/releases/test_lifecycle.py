"""The release lifecycle (releases/lifecycle.py): version and build rules, the state moves."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from audit.models import AuditEvent
from board.decisions import release_decide
from board.lifecycle import release_create, release_promote
from board.selectors import release_board
from core.errors import Conflict, NotAllowed, RuleViolation
from gates.services import gate_result_record
from releases.lifecycle import SEMVER_RE, release_cancel, release_new_build
from releases.models import ACTIVE_STATES, RELEASE_TRANSITIONS, Decision, Release, ReleaseState

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
