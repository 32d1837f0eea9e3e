"""Reads for releases: the evidence behind the verdict, and what the board shows.

`release_board` runs a fixed number of queries, whatever the number of gates, results,
checklist items or audit events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import Role, RoleMembership
from audit.models import AuditEvent
from checklists.models import ChecklistItem, Defect, DefectState, ItemState
from gates.models import Gate, GateResult, Waiver, WaiverState
from operations.models import OnCallContact, Rehearsal, RehearsalKind, RehearsalOutcome

from .models import ACTIVE_STATES, Decision, Product, Release, SignOff
from .rules import RuleChange, rule_change_message, rule_weakenings
from .verdict import (
    CoreItemEvidence,
    DefectEvidence,
    GateEvidence,
    OperationsEvidence,
    ReleaseEvidence,
    SignOffEvidence,
    Verdict,
    WaiverEvidence,
    effective_waiver,
    evidence_fingerprint,
    gate_fingerprint_states,
    verdict,
)


def gates_for_product(product: Product) -> QuerySet[Gate]:
    """Gates that apply to `product`: those naming it, and those naming no product."""
    return (
        Gate.objects.filter(Q(products__isnull=True) | Q(products=product))
        .distinct()
        .order_by("position", "key")
    )


def required_oncall_roles(product: Product) -> frozenset[str]:
    """Every sign-off role needs an on-call contact, and so does DevOps (who rolls back)."""
    return frozenset(product.signoff_roles) | {Role.DEVOPS.value}


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
        open_request = any(w.state in ("requested",) for w in self.current_waivers)
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

    @cached_property
    def blocker_items(self) -> list[dict[str, str]]:
        """Each blocker with its words (in the active language) and the DOM id it links to."""
        from .templatetags.board import blocker_anchor_id

        return [
            {"code": b.code, "message": b.message(), "anchor": blocker_anchor_id(b)}
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
        return rule_config(self.release.product, [row.gate for row in self.gates])

    @cached_property
    def rule_changes(self) -> list[dict[str, str]]:
        """Rules weakened since the standing Go was given, in words, each with who changed
        it and when (from the audit trail). Empty for a No-Go, and for a decision kept
        before decisions recorded their rules."""
        decision = self.decision
        if decision is None or decision.outcome != "go" or "rules" not in (decision.snapshot or {}):
            return []
        changes = rule_weakenings(decision.snapshot["rules"], self.rules)
        if not changes:
            return []
        events = _rule_change_events(changes, since=decision.decided_at)
        rows = []
        for change in changes:
            event = events.get((change.object_type, change.object_id))
            row = {"what": rule_change_message(change), "by": "", "at": ""}
            if event is not None:
                row["by"] = event.actor_label
                row["at"] = timezone.localtime(event.at).strftime("%H:%M")
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
            and self.decision.outcome == "go"
            # A halted rollout is not a Go: monitoring stopped it.
            and self.release.state in ("go", "rolling_out", "released")
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
                    "fresh": bool(signoff and signoff.evidence_fingerprint == self.fingerprint),
                }
            )
        return rows


def rule_config(product: Product, gates: list[Gate]) -> dict[str, Any]:
    """The configuration the verdict depends on, as plain data a decision keeps: the
    product's gates (blocks, waivable, phase, where the status comes from), its required
    sign-off roles and rehearsal window, who is PM/PO on it, and which of its API
    tokens that may report evidence are revoked. `releases.rules.rule_weakenings` compares two of these."""
    # Only who is PM/PO: the one role whose new holders weaken a Go (`rule_weakenings`).
    roles = (
        RoleMembership.objects.filter(Q(product__isnull=True) | Q(product=product), role=Role.PM)
        .order_by("id")
        .values_list("id", "user__username", "role")
    )
    # Tokens live in integrations; read through the product's reverse relation. Only those
    # that may write evidence (results, health) matter; a verdict-only token reads.
    tokens = [
        [pk, name, revoked_at is not None]
        for pk, name, scopes, revoked_at in product.api_tokens.order_by("id").values_list(
            "id", "name", "scopes", "revoked_at"
        )
        if {"results", "metrics"} & set(scopes or [])
    ]
    return {
        "product_id": product.pk,
        "gates": {
            g.key: {
                "id": g.pk,
                "name": g.name,
                "blocking": g.blocking,
                "waivable": g.waivable,
                "phase": g.phase,
                "evaluation": g.evaluation,
            }
            for g in gates
        },
        "signoff_roles": sorted(product.signoff_roles),
        "rehearsal_window_days": product.rehearsal_window_days,
        "roles": [list(r) for r in roles],
        "tokens": tokens,
    }


def _rule_change_events(changes: list[RuleChange], *, since: datetime) -> dict[tuple[str, str], AuditEvent]:
    """The newest audit event since `since` for each changed configuration row."""
    wanted = Q()
    for change in changes:
        wanted |= Q(object_type=change.object_type, object_id=change.object_id)
    events: dict[tuple[str, str], AuditEvent] = {}
    for event in AuditEvent.objects.filter(wanted, at__gte=since).order_by("at", "id"):
        events[(event.object_type, event.object_id)] = event
    return events


def release_board(release: Release, *, now: datetime | None = None) -> ReleaseBoard:
    """Everything the board and the verdict need for one release, in a fixed query count."""
    now = now or timezone.now()
    product = release.product

    gates = list(gates_for_product(product))
    current, since = current_results(release)

    waivers = list(
        Waiver.objects.filter(release=release)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at")
    )
    for w in waivers:
        w.is_current = w.is_for_build_of(release)
    approver_ids = {w.decided_by_id for w in waivers if w.decided_by_id}
    pm_ids = (
        set(
            RoleMembership.objects.filter(user_id__in=approver_ids, role=Role.PM)
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
    signoff_list = list(
        SignOff.objects.filter(release=release).select_related("signed_by").order_by("signed_at", "id")
    )
    signoffs: dict[str, SignOff] = {}
    for s in signoff_list:
        signoffs[s.role] = s  # ordered ascending: the newest per role wins
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
            status = _core_status([i for i in items if i.core])
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
                fresh=s.evidence_fingerprint == fingerprint,
                signed_by=s.signed_by.get_username(),
            )
            for s in signoffs.values()
        ),
        operations=OperationsEvidence(
            runbook_url=product.runbook_url,
            required_oncall_roles=required_oncall_roles(product),
            oncall_roles=frozenset(c.role for c in oncall),
            last_rollback_rehearsal=last_rollback.performed_on if last_rollback else None,
            rehearsal_window_days=product.rehearsal_window_days,
        ),
        build_number=release.build_number,
        commit_sha=release.commit_sha,
    )
    return ReleaseBoard(
        release=release,
        now=now,
        gates=rows,
        defects=defects,
        checklist_items=items,
        signoffs=signoffs,
        decision=decision,
        oncall=oncall,
        last_rollback=last_rollback,
        evidence=evidence,
        verdict=verdict(evidence),
        fingerprint=fingerprint,
    )


# When several CI jobs feed one gate, the gate shows the most worrying of their newest
# results: a skipped job never lets the gate pass.
STATUS_WEIGHT = {"failed": 0, "error": 1, "running": 2, "pending": 3, "skipped": 4, "passed": 5}
TERMINAL = frozenset({"passed", "failed", "error", "skipped"})
WAIVABLE_STATUSES = frozenset({"failed", "error", "skipped"})  # what a waiver may carry


def _supersedes(new: GateResult, old: GateResult) -> bool:
    """Whether `new` (later or equal in time order) replaces `old` from the same CI job:
    the newest observation wins — a run that failed, passed and failed again ends failed,
    a finished job put back in the queue is pending again — except that an older attempt
    of a run never does, nor a start observed at the same moment its attempt finished."""
    if new.run_id and new.run_id == old.run_id:
        if new.run_attempt < old.run_attempt:
            return False
        if (
            new.run_attempt == old.run_attempt
            and old.status in TERMINAL
            and new.status not in TERMINAL
            and new.observed_at <= old.observed_at
        ):
            return False
    return True


def current_results(
    release: Release, gate_id: int | None = None
) -> tuple[dict[int, GateResult], dict[int, int]]:
    """Per gate: its current result for the release's current commit (per CI job the
    newest observation, an older run or attempt never overriding a newer one; across jobs
    the most worrying), and the id of the result from which the gate's status has held."""
    per_job: dict[int, dict[str, GateResult]] = {}
    current: dict[int, GateResult] = {}
    since: dict[int, int] = {}
    results = GateResult.objects.filter(release=release, commit_sha=release.commit_sha)
    if gate_id is not None:
        results = results.filter(gate_id=gate_id)
    for result in results.order_by("observed_at", "run_attempt", "id"):
        jobs = per_job.setdefault(result.gate_id, {})
        previous_job = jobs.get(result.check_name)
        if previous_job is not None and not _supersedes(result, previous_job):
            continue
        jobs[result.check_name] = result
        shown = min(jobs.values(), key=lambda r: (STATUS_WEIGHT.get(r.status, 0), -r.pk))
        previous = current.get(result.gate_id)
        if previous is None or previous.status != shown.status:
            since[result.gate_id] = result.pk
        current[result.gate_id] = shown
    return current, since


def gate_current_status(*, release: Release, gate: Gate) -> str | None:
    """The gate's CI status for the release's current commit, as the board shows it
    (None when nothing was reported). Reads the release's commit afresh."""
    release.refresh_from_db(fields=["commit_sha"])
    current, _since = current_results(release, gate.pk)
    result = current.get(gate.pk)
    return result.status if result else None


def _core_status(core_items: list[ChecklistItem]) -> str | None:
    if not core_items:
        return None
    states = {i.state for i in core_items}
    if states == {ItemState.PASSED}:
        return "passed"
    if ItemState.FAILED in states or ItemState.BLOCKED in states:
        return "failed"
    if ItemState.PASSED in states or ItemState.NOT_APPLICABLE in states:
        return "running"
    return "pending"


def active_releases() -> QuerySet[Release]:
    return (
        Release.objects.filter(state__in=ACTIVE_STATES)
        .select_related("product", "owner")
        .order_by("product__slug", "-build_number")
    )


def failed_results_since(since: datetime) -> QuerySet[GateResult]:
    """Gate results that failed or errored since `since`, newest first."""
    return (
        GateResult.objects.filter(status__in=["failed", "error"], observed_at__gte=since)
        .select_related("gate", "release__product")
        .order_by("-observed_at")
    )
