"""The verdict is a pure function: exhaustive and property-based tests, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from board.verdict import (
    Blocker,
    CoreItemEvidence,
    DefectEvidence,
    GateEvidence,
    OperationsEvidence,
    ReleaseEvidence,
    SignOffEvidence,
    WaiverEvidence,
    fingerprint_of,
    verdict,
    waiver_counts,
)

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ROLES = ("qa", "mobile_lead", "backend_lead", "devops")
STATUSES = (None, "pending", "running", "passed", "failed", "error", "skipped")
PM_ID, ASKER_ID = 1, 2


def ops(**kw: object) -> OperationsEvidence:
    base: dict[str, object] = {
        "runbook_url": "https://wiki/runbook",
        "required_oncall_roles": frozenset(ROLES),
        "oncall_roles": frozenset(ROLES),
        "last_rollback_rehearsal": NOW.date() - timedelta(days=10),
        "rehearsal_window_days": 90,
    }
    base.update(kw)
    return OperationsEvidence(**base)  # type: ignore[arg-type]


def gate(key: str = "contract", status: str | None = "passed", **kw: object) -> GateEvidence:
    base: dict[str, object] = {
        "key": key,
        "name": key.title(),
        "phase": "pre_release",
        "blocking": True,
        "waivable": True,
        "status": status,
    }
    base.update(kw)
    return GateEvidence(**base)  # type: ignore[arg-type]


def approved(**kw: object) -> WaiverEvidence:
    base: dict[str, object] = {
        "id": 1,
        "state": "approved",
        "requested_by": ASKER_ID,
        "approved_by": PM_ID,
        "approver_is_pm": True,
        "expires_at": NOW + timedelta(hours=1),
    }
    base.update(kw)
    return WaiverEvidence(**base)  # type: ignore[arg-type]


def evidence(**kw: object) -> ReleaseEvidence:
    base: dict[str, object] = {
        "now": NOW,
        "gates": (gate("typecheck"), gate("contract"), gate("e2e-regression")),
        "defects": (),
        "core_items": (CoreItemEvidence(1, "Login", "passed"),),
        "required_signoff_roles": ROLES,
        "signoffs": tuple(SignOffEvidence(r, "go", True) for r in ROLES),
        "operations": ops(),
    }
    base.update(kw)
    return ReleaseEvidence(**base)  # type: ignore[arg-type]


def codes(e: ReleaseEvidence) -> list[str]:
    return [b.code for b in verdict(e).blockers]


def test_all_conditions_hold_means_ready() -> None:
    result = verdict(evidence())
    assert result.ready is True
    assert result.blockers == ()


def test_each_condition_alone_blocks_with_its_own_reason() -> None:
    assert codes(evidence(gates=(gate(status="failed"),))) == ["gate_failed"]
    assert codes(evidence(gates=(gate(status=None),))) == ["gate_no_result"]
    assert codes(evidence(gates=(gate(status="skipped"),))) == ["gate_skipped"]
    assert codes(evidence(gates=(gate(status="error"),))) == ["gate_error"]
    assert codes(evidence(gates=(gate(status="running"),))) == ["gate_in_progress"]
    assert codes(evidence(defects=(DefectEvidence(7, "Crash", "critical", True),))) == [
        "critical_defect_open"
    ]
    assert codes(evidence(core_items=(CoreItemEvidence(3, "Search", "failed"),))) == ["core_item_failed"]
    assert codes(evidence(core_items=(CoreItemEvidence(3, "Search", "n/a"),))) == ["core_item_na"]
    assert codes(evidence(signoffs=())) == ["signoff_missing"] * 4
    stale = tuple(SignOffEvidence(r, "go", r != "qa") for r in ROLES)
    assert codes(evidence(signoffs=stale)) == ["signoff_stale"]
    no_go = tuple(SignOffEvidence(r, "no_go" if r == "devops" else "go", True) for r in ROLES)
    assert codes(evidence(signoffs=no_go)) == ["signoff_no_go"]
    assert codes(evidence(operations=ops(runbook_url=""))) == ["runbook_missing"]
    assert codes(evidence(operations=ops(oncall_roles=frozenset({"qa"})))) == ["oncall_missing"] * 3
    assert codes(evidence(operations=ops(last_rollback_rehearsal=None))) == ["rollback_rehearsal_missing"]
    old = NOW.date() - timedelta(days=91)
    assert codes(evidence(operations=ops(last_rollback_rehearsal=old))) == ["rollback_rehearsal_old"]
    future = NOW.date() + timedelta(days=1)
    assert codes(evidence(operations=ops(last_rollback_rehearsal=future))) == ["rollback_rehearsal_missing"]
    no_core = gate("core-scenarios", status=None, evaluation="checklist", waivable=False)
    assert codes(evidence(gates=(no_core,), core_items=())) == ["core_checklist_missing"]


def test_non_blocking_post_deploy_and_app_evaluated_gates_do_not_block_as_gates() -> None:
    gates = (
        gate("smoke", status=None, phase="post_deploy"),
        gate("advisory", status="failed", blocking=False),
        gate("critical-bugs", status="failed", evaluation="defects", waivable=False),
    )
    assert verdict(evidence(gates=gates)).ready is True


def test_minor_and_resolved_defects_do_not_block() -> None:
    defects = (DefectEvidence(1, "a", "major", True), DefectEvidence(2, "b", "critical", False))
    assert verdict(evidence(defects=defects)).ready is True


def test_waiver_rules() -> None:
    failing = gate(status="failed")
    assert waiver_counts(failing, approved(), NOW)
    assert not waiver_counts(failing, approved(approved_by=ASKER_ID), NOW), "self-approval"
    assert not waiver_counts(failing, approved(approver_is_pm=False), NOW), "approver not a PM"
    assert not waiver_counts(failing, approved(expires_at=NOW), NOW), "expired at that instant"
    assert not waiver_counts(failing, approved(state="requested", approved_by=None), NOW)
    assert not waiver_counts(failing, approved(state="revoked"), NOW)
    assert not waiver_counts(gate(status="failed", waivable=False), approved(), NOW)
    assert not waiver_counts(gate("critical-bugs", status="failed", waivable=True), approved(), NOW)


def test_expired_waiver_blocks_again_without_any_task() -> None:
    g = gate(status="failed", waivers=(approved(expires_at=NOW + timedelta(minutes=1)),))
    assert verdict(evidence(gates=(g,))).ready is True
    later = evidence(gates=(g,), now=NOW + timedelta(minutes=1))
    assert codes(later) == ["gate_waiver_expired"]


def test_messages_are_plain_words_in_english_and_korean() -> None:
    blocker = verdict(evidence(gates=(gate(status="failed"),))).blockers[0]
    assert blocker.message("en") == "“Contract” failed. Fix it and run it again, or ask for a waiver."
    assert blocker.message("ko") != blocker.message("en")
    assert "Contract" in blocker.message("ko")
    assert blocker.target == "gate" and blocker.target_id == "contract"


def test_fingerprint_changes_with_build_commit_and_gate_state() -> None:
    base = evidence(build_number=1, commit_sha="a" * 40)
    assert fingerprint_of(base) == fingerprint_of(evidence(build_number=1, commit_sha="a" * 40))
    assert fingerprint_of(base) != fingerprint_of(evidence(build_number=2, commit_sha="a" * 40))
    assert fingerprint_of(base) != fingerprint_of(evidence(build_number=1, commit_sha="b" * 40))
    failed = evidence(build_number=1, commit_sha="a" * 40, gates=(gate(status="failed"),))
    waived = evidence(
        build_number=1, commit_sha="a" * 40, gates=(gate(status="failed", waivers=(approved(),)),)
    )
    assert fingerprint_of(failed) != fingerprint_of(waived)


# --- properties ----------------------------------------------------------------------

waiver_st = st.builds(
    WaiverEvidence,
    id=st.integers(1, 5),
    state=st.sampled_from(["requested", "approved", "rejected", "revoked"]),
    requested_by=st.sampled_from([PM_ID, ASKER_ID, 3]),
    approved_by=st.sampled_from([None, PM_ID, ASKER_ID, 3]),
    approver_is_pm=st.booleans(),
    expires_at=st.sampled_from([NOW - timedelta(hours=1), NOW, NOW + timedelta(hours=1)]),
)
gate_st = st.builds(
    GateEvidence,
    key=st.sampled_from(["typecheck", "contract", "e2e", "smoke", "critical-bugs", "custom"]),
    name=st.just("Gate"),
    phase=st.sampled_from(["pre_release", "post_deploy"]),
    blocking=st.booleans(),
    waivable=st.booleans(),
    evaluation=st.sampled_from(["ci", "ci", "ci", "defects", "checklist"]),
    status=st.sampled_from(STATUSES),
    waivers=st.lists(waiver_st, max_size=3).map(tuple),
)
evidence_st = st.builds(
    ReleaseEvidence,
    now=st.just(NOW),
    gates=st.lists(gate_st, max_size=6).map(tuple),
    defects=st.lists(
        st.builds(
            DefectEvidence,
            id=st.integers(1, 99),
            title=st.just("d"),
            severity=st.sampled_from(["critical", "major", "minor"]),
            open=st.booleans(),
        ),
        max_size=4,
    ).map(tuple),
    core_items=st.lists(
        st.builds(
            CoreItemEvidence,
            id=st.integers(1, 99),
            title=st.just("i"),
            state=st.sampled_from(["open", "passed", "failed", "blocked", "n/a"]),
        ),
        max_size=5,
    ).map(tuple),
    required_signoff_roles=st.lists(st.sampled_from(ROLES), unique=True).map(tuple),
    signoffs=st.lists(
        st.builds(
            SignOffEvidence,
            role=st.sampled_from(ROLES),
            vote=st.sampled_from(["go", "no_go"]),
            fresh=st.booleans(),
        ),
        max_size=6,
    ).map(tuple),
    operations=st.builds(
        OperationsEvidence,
        runbook_url=st.sampled_from(["", "https://wiki/rb"]),
        required_oncall_roles=st.frozensets(st.sampled_from(ROLES)),
        oncall_roles=st.frozensets(st.sampled_from(ROLES)),
        last_rollback_rehearsal=st.one_of(st.none(), st.dates(date(2026, 1, 1), date(2026, 11, 27))),
        rehearsal_window_days=st.sampled_from([30, 90]),
    ),
)


def independently_ready(e: ReleaseEvidence) -> bool:
    """PRODUCT §4 restated from scratch, to check the implementation against."""

    def waived(g: GateEvidence) -> bool:
        return any(
            g.waivable
            and g.key != "critical-bugs"
            and w.state == "approved"
            and w.approved_by is not None
            and w.approved_by != w.requested_by
            and w.approver_is_pm
            and e.now < w.expires_at
            for w in g.waivers
        )

    gates_ok = all(
        g.status == "passed" or waived(g)
        for g in e.gates
        if g.blocking and g.phase == "pre_release" and g.evaluation == "ci"
    ) and not any(
        g.blocking and g.phase == "pre_release" and g.evaluation == "checklist" and g.status is None
        for g in e.gates
    )
    defects_ok = not any(d.open and d.severity == "critical" for d in e.defects)
    core_ok = all(i.state == "passed" for i in e.core_items)
    latest = {s.role: s for s in e.signoffs}
    signoffs_ok = all(
        r in latest and latest[r].vote == "go" and latest[r].fresh for r in e.required_signoff_roles
    )
    o = e.operations
    ops_ok = (
        bool(o.runbook_url)
        and o.required_oncall_roles <= o.oncall_roles
        and o.last_rollback_rehearsal is not None
        and e.now.date() - timedelta(days=o.rehearsal_window_days)
        <= o.last_rollback_rehearsal
        <= e.now.date()
    )
    return gates_ok and defects_ok and core_ok and signoffs_ok and ops_ok


@settings(max_examples=600, deadline=None)
@given(evidence_st)
def test_ready_exactly_when_every_condition_holds(e: ReleaseEvidence) -> None:
    result = verdict(e)
    assert result.ready == independently_ready(e)
    assert result.ready == (len(result.blockers) == 0)


@settings(max_examples=300, deadline=None)
@given(evidence_st)
def test_every_blocker_points_at_something_and_reads_in_both_languages(e: ReleaseEvidence) -> None:
    for blocker in verdict(e).blockers:
        assert isinstance(blocker, Blocker)
        assert blocker.target in {"gate", "defect", "checklist_item", "signoff", "operations"}
        assert blocker.target_id
        english, korean = blocker.message("en"), blocker.message("ko")
        assert english and korean and "%(" not in english and "%(" not in korean
        assert english != korean, f"{blocker.code} has no Korean translation"


@settings(max_examples=300, deadline=None)
@given(evidence_st, st.lists(waiver_st, min_size=1, max_size=3))
def test_a_waiver_never_makes_a_non_waivable_gate_pass(
    e: ReleaseEvidence, waivers: list[WaiverEvidence]
) -> None:
    g = gate("lint-x", status="failed", waivable=False, waivers=tuple(waivers))
    result = verdict(ReleaseEvidence(**{**e.__dict__, "gates": (*e.gates, g)}))
    assert not result.ready
    assert any(
        b.target == "gate" and b.target_id == "lint-x" and b.code == "gate_failed" for b in result.blockers
    )
