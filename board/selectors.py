"""Reads for the board: the evidence behind the verdict, and what the board shows.

`release_board` runs a fixed number of queries, whatever the number of gates, results,
checklist items or audit events; `board.dashboard.release_boards` reads many boards at
once, and both build them with `build_board`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.capabilities import HOLDERS, Capability
from accounts.models import Role, RoleMembership
from audit.models import AuditEvent
from checklists.models import ChecklistItem, Defect, DefectState, ItemState
from core.when import when_text
from gates.models import Gate, GateResult, Waiver, WaiverState
from gates.selectors import WAIVABLE_STATUSES, gate_history, gates_for_product
from operations.models import OnCallContact, Rehearsal, RehearsalKind, RehearsalOutcome
from releases.models import GO_STANDS_STATES, Decision, Release, SignOff, Vote

from .readiness import blocker_page, operations_evidence
from .rule_reads import rule_change_events, rule_config
from .rules import rule_change_message, rule_weakenings
from .stale_reads import news_events
from .staleness import StaleReason, owned_failing_gates, release_news, stale_reasons
from .templatetags.board import blocker_anchor_id
from .verdict import (
    CoreItemEvidence,
    DefectEvidence,
    GateEvidence,
    ReleaseEvidence,
    SignOffEvidence,
    Verdict,
    WaiverEvidence,
    core_gate_status,
    effective_waiver,
    evidence_fingerprint,
    gate_fingerprint_states,
    verdict,
)


@dataclass
class GateRow:
    gate: Gate
    result: GateResult | None
    waivers: list[Waiver]
    evidence: GateEvidence

    waiver_in_force: WaiverEvidence | None = None

    @property
    def status(self) -> str:
        return self.evidence.status or "none"

    @property
    def display_status(self) -> str:
        """What the board shows: `waived` (amber) while an approved waiver carries it."""
        if self.evidence.status != "passed" and self.waiver_in_force is not None:
            return "waived"
        return self.status

    @property
    def current_waivers(self) -> list[Waiver]:
        """The waivers asked for the release's current build and commit."""
        current = {e.id for e in self.evidence.waivers if e.current}
        return [w for w in self.waivers if w.pk in current]

    @property
    def may_ask_waiver(self) -> bool:
        blocking = self.gate.blocking and self.gate.evaluation == "ci" and self.gate.waivable
        open_request = any(w.state == WaiverState.REQUESTED for w in self.current_waivers)
        # Only past a gate that has failed (failed, error, skipped): not one still running
        # or not reported yet, which may yet pass.
        failing = self.status in WAIVABLE_STATUSES
        return blocking and failing and self.waiver_in_force is None and not open_request


@dataclass
class ReleaseBoard:
    release: Release
    now: datetime
    gates: list[GateRow]
    defects: list[Defect]
    checklist_items: list[ChecklistItem]
    signoffs: dict[str, SignOff]
    decision: Decision | None
    oncall: list[OnCallContact]
    last_rollback: Rehearsal | None
    evidence: ReleaseEvidence
    verdict: Verdict
    fingerprint: str
    # Set by `board.dashboard.release_boards`, which reads the rules of many boards at once
    # (the events: each changed row's newest audit event since the decision).
    preloaded_rules: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    preloaded_rule_events: dict[tuple[str, str], AuditEvent] | None = field(
        default=None, compare=False, repr=False
    )
    # Why each role's newest sign-off is stale (board.staleness); a role not here is fresh.
    signoff_stale: dict[str, StaleReason] = field(default_factory=dict)

    @cached_property
    def blocker_items(self) -> list[dict[str, str]]:
        """Each blocker with its words (in the active language), the board's DOM id it is
        about, and `href`: that id, or the page where it is fixed (the product page's
        section, the checklist page's row). `board.fixes` adds who may fix it."""
        slug = self.release.product.slug
        return [
            {
                "code": b.code,
                "message": b.message(),
                "anchor": blocker_anchor_id(b),
                "href": blocker_page(b, slug, self.release.version) or f"#{blocker_anchor_id(b)}",
            }
            for b in self.verdict.blockers
        ]

    @cached_property
    def open_defects(self) -> list[Defect]:
        return [d for d in self.defects if d.state == DefectState.OPEN]

    @cached_property
    def open_critical_count(self) -> int:
        return sum(1 for d in self.open_defects if d.severity == "critical")

    @cached_property
    def has_waivers(self) -> bool:
        return any(row.waivers for row in self.gates)

    @cached_property
    def core_items(self) -> list[ChecklistItem]:
        return [i for i in self.checklist_items if i.core]

    def progress(self, items: list[ChecklistItem]) -> dict[str, int]:
        done = sum(1 for i in items if i.state != ItemState.OPEN)
        passed = sum(1 for i in items if i.state == ItemState.PASSED)
        total = len(items)
        return {
            "total": total,
            "done": done,
            "passed": passed,
            "failed": sum(1 for i in items if i.state == ItemState.FAILED),
            "percent": round(100 * done / total) if total else 0,
        }

    @cached_property
    def checklist_progress(self) -> dict[str, int]:
        return self.progress(self.checklist_items)

    @cached_property
    def core_progress(self) -> dict[str, int]:
        return self.progress(self.core_items)

    @cached_property
    def rules(self) -> dict[str, Any]:
        """The rules the verdict applies now (kept with a decision: `rule_config`)."""
        if self.preloaded_rules is not None:
            return self.preloaded_rules
        return rule_config(self.release.product, [row.gate for row in self.gates])

    @cached_property
    def rule_changes(self) -> list[dict[str, str]]:
        """Rules weakened since the standing Go was given, in words, each with who changed
        it and when (from the audit trail). Empty for a No-Go, and for a decision kept
        before decisions recorded their rules."""
        decision = self.decision
        if decision is None or decision.outcome != Vote.GO or "rules" not in (decision.snapshot or {}):
            return []
        changes = rule_weakenings(decision.snapshot["rules"], self.rules)
        if not changes:
            return []
        events = self.preloaded_rule_events
        if events is None:
            events = rule_change_events(changes, since=decision.decided_at)
        rows = []
        for change in changes:
            event = events.get((change.object_type, change.object_id))
            row = {"what": rule_change_message(change), "by": "", "at": ""}
            if event is not None:
                row["by"] = event.actor_label
                row["at"] = when_text(event.at, "time")
            rows.append(row)
        return rows

    @cached_property
    def decision_stale(self) -> bool:
        """The decision stood on other evidence, or a rule it stood on was weakened since."""
        if not self.decision:
            return False
        return self.decision.evidence_fingerprint != self.fingerprint or bool(self.rule_changes)

    @property
    def go_stands(self) -> bool:
        """A Go decision is in force: the newest decision is Go, its evidence is unchanged,
        and the verdict is still ready. Only then may anything say `go`."""
        return bool(
            self.decision
            and self.decision.outcome == Vote.GO
            # A halted rollout is not a Go: monitoring stopped it.
            and self.release.state in GO_STANDS_STATES
            and not self.decision_stale
            and self.verdict.ready
        )

    def decision_changes(self) -> list[dict[str, str]]:
        """What changed since the decision: build, commit and each gate whose state moved."""
        if not self.decision:
            return []
        snap = self.decision.snapshot or {}
        changes = []
        if snap.get("build_number") != self.release.build_number:
            changes.append(
                {
                    "what": "build",
                    "before": str(snap.get("build_number")),
                    "after": str(self.release.build_number),
                }
            )
        if snap.get("commit_sha") != self.release.commit_sha:
            changes.append(
                {
                    "what": "commit",
                    "before": str(snap.get("commit_sha", ""))[:10],
                    "after": self.release.commit_sha[:10],
                }
            )
        before = snap.get("gates", {})
        for row in self.gates:
            old = before.get(row.gate.key) or "none"
            new = row.display_status
            if old != new:
                changes.append({"what": row.gate.name, "before": old, "after": new})
        return changes

    @cached_property
    def signoff_rows(self) -> list[dict[str, Any]]:
        rows = []
        for role in self.release.product.signoff_roles:
            signoff = self.signoffs.get(role)
            rows.append(
                {
                    "role": role,
                    "role_label": Role(role).label if role in Role.values else role,
                    "signoff": signoff,
                    "fresh": bool(signoff and role not in self.signoff_stale),
                    "stale_reason": self.signoff_stale[role].message() if role in self.signoff_stale else "",
                    "own_failing": owned_failing_gates(self.gates, role),
                }
            )
        return rows


def release_board(release: Release, *, now: datetime | None = None) -> ReleaseBoard:
    """Everything the board and the verdict need for one release, in a fixed query count."""
    now = now or timezone.now()
    product = release.product

    gates = list(gates_for_product(product))
    current, since, worsened = gate_history(release)

    waivers = list(
        Waiver.objects.filter(release=release)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at")
    )
    approver_ids = {w.decided_by_id for w in waivers if w.decided_by_id}
    pm_ids = (
        set(
            # A waiver counts only when its decider may approve waivers on the product.
            RoleMembership.objects.filter(
                user_id__in=approver_ids, role__in=HOLDERS[Capability.APPROVE_WAIVER]
            )
            .filter(Q(product__isnull=True) | Q(product=product))
            .values_list("user_id", flat=True)
        )
        if approver_ids
        else set()
    )

    defects = list(Defect.objects.filter(release=release).order_by("state", "-reported_at"))
    items = list(
        ChecklistItem.objects.filter(checklist__release=release)
        .select_related("ticked_by")
        .order_by("checklist_id", "section_position", "position", "id")
    )
    signoffs = list(
        SignOff.objects.filter(release=release).select_related("signed_by").order_by("signed_at", "id")
    )
    events = news_events({release.pk: signoffs})
    decision = (
        Decision.objects.filter(release=release)
        .select_related("decided_by")
        .order_by("-decided_at", "-id")
        .first()
    )
    oncall = list(OnCallContact.objects.filter(product=product).order_by("role"))
    last_rollback = (
        Rehearsal.objects.filter(
            product=product,
            kind=RehearsalKind.ROLLBACK,
            outcome=RehearsalOutcome.PASSED,
            performed_on__lte=timezone.localdate(now),  # what was known at `now`
        )
        .order_by("-performed_on", "-id")
        .first()
    )
    return build_board(
        release,
        now=now,
        gates=gates,
        results=(current, since, worsened),
        waivers=waivers,
        pm_ids=pm_ids,
        defects=defects,
        items=items,
        signoffs=signoffs,
        decision=decision,
        oncall=oncall,
        last_rollback=last_rollback,
        events=events.get(release.pk, []),
    )


def build_board(
    release: Release,
    *,
    now: datetime,
    gates: list[Gate],
    results: tuple[dict[int, GateResult], dict[int, int], dict[int, GateResult]],
    waivers: list[Waiver],
    pm_ids: set[int],
    defects: list[Defect],
    items: list[ChecklistItem],
    signoffs: list[SignOff],
    decision: Decision | None,
    oncall: list[OnCallContact],
    last_rollback: Rehearsal | None,
    events: list[AuditEvent] | None = None,
) -> ReleaseBoard:
    """The board from what was read for it, without a query (`release_board` reads for
    one release, `board.dashboard.release_boards` for many): `results` as
    `gate_history` gives them, sign-offs oldest first, `events` as `news_events` reads them."""
    product = release.product
    current, since, worsened = results
    for w in waivers:
        w.is_current = w.is_for_build_of(release)
    newest_signoffs: dict[str, SignOff] = {}
    for s in signoffs:
        newest_signoffs[s.role] = s  # ordered ascending: the newest per role wins

    rows: list[GateRow] = []
    for gate in gates:
        result = current.get(gate.pk)
        gate_waivers = [w for w in waivers if w.gate_id == gate.pk]
        status = result.status if result else None
        if gate.evaluation == "defects":
            status = (
                "failed" if any(d.state == "open" and d.severity == "critical" for d in defects) else "passed"
            )
        elif gate.evaluation == "checklist":
            status = core_gate_status([i.state for i in items if i.core])
        ev = GateEvidence(
            key=gate.key,
            name=gate.name,
            phase=gate.phase,
            blocking=gate.blocking,
            waivable=gate.waivable,
            evaluation=gate.evaluation,
            status=status,
            status_since=since.get(gate.pk),
            waivers=tuple(
                WaiverEvidence(
                    id=w.pk,
                    state=w.state,
                    requested_by=w.requested_by_id,
                    approved_by=w.decided_by_id if w.state in (WaiverState.APPROVED,) else None,
                    approver_is_pm=w.decided_by_id in pm_ids,
                    expires_at=w.expires_at,
                    approved_by_name=w.decided_by.get_username() if w.decided_by else "",
                    reason=w.reason,
                    current=w.is_current,
                )
                for w in gate_waivers
            ),
        )
        rows.append(
            GateRow(
                gate=gate,
                result=result,
                waivers=gate_waivers,
                evidence=ev,
                waiver_in_force=effective_waiver(ev, now),
            )
        )

    gate_evidence = tuple(r.evidence for r in rows)
    news = release_news(gates, worsened, waivers, defects, [i for i in items if i.core], events or [])
    stale = stale_reasons(newest_signoffs.values(), release, news)
    fingerprint = evidence_fingerprint(
        build_number=release.build_number,
        commit_sha=release.commit_sha,
        gate_states=gate_fingerprint_states(gate_evidence, now),
    )
    evidence = ReleaseEvidence(
        now=now,
        gates=gate_evidence,
        defects=tuple(
            DefectEvidence(id=d.pk, title=d.title, severity=d.severity, open=d.state == DefectState.OPEN)
            for d in defects
        ),
        core_items=tuple(CoreItemEvidence(id=i.pk, title=i.title, state=i.state) for i in items if i.core),
        required_signoff_roles=tuple(product.signoff_roles),
        signoffs=tuple(
            SignOffEvidence(
                role=s.role,
                vote=s.vote,
                fresh=s.role not in stale,
                signed_by=s.signed_by.get_username(),
                stale_code=stale[s.role].code if s.role in stale else "",
                stale_params=stale[s.role].params if s.role in stale else (),
            )
            for s in newest_signoffs.values()
        ),
        operations=operations_evidence(product, oncall, last_rollback),
        build_number=release.build_number,
        commit_sha=release.commit_sha,
    )
    return ReleaseBoard(
        release=release,
        now=now,
        gates=rows,
        defects=defects,
        checklist_items=items,
        signoffs=newest_signoffs,
        decision=decision,
        oncall=oncall,
        last_rollback=last_rollback,
        evidence=evidence,
        verdict=verdict(evidence),
        fingerprint=fingerprint,
        signoff_stale=stale,
    )
