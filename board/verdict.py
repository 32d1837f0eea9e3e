"""The verdict (PRODUCT §4): one pure function of the evidence.

No ORM in here. The board, the API and the CLI all call `verdict()` with the same plain
data, built by `board.selectors.release_board`. A release is ready only when:

1. every blocking pre-release gate has passed for the current commit, or has an approved,
   unexpired waiver from a PM/PO who is not its asker, on a waivable gate, for the
   current build and commit;
2. no critical defect is open (`critical-bugs` is never waivable);
3. every core checklist item has passed;
4. every required sign-off role has a fresh Go sign-off;
5. operations are in place: a runbook link, an on-call contact for each required role,
   reviewed within the product's contacts review window, and a passed rollback rehearsal
   within the product's window.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, override

from .staleness import stale_message

# Gate evaluations (mirrors gates.models.Evaluation, kept as plain strings here).
EVAL_CI = "ci"
EVAL_DEFECTS = "defects"
EVAL_CHECKLIST = "checklist"
NEVER_WAIVABLE = frozenset({"critical-bugs"})
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class WaiverEvidence:
    id: int
    state: str  # requested | approved | rejected | revoked
    requested_by: int
    approved_by: int | None
    approver_is_pm: bool
    expires_at: datetime
    approved_by_name: str = ""
    reason: str = ""
    # Asked for the release's current build and commit. A waiver covers the failure it was
    # asked about; a new build or commit needs a new one (or the PM/PO carries it over).
    current: bool = True


@dataclass(frozen=True)
class GateEvidence:
    key: str
    name: str
    phase: str  # pre_release | post_deploy
    blocking: bool
    waivable: bool
    evaluation: str = EVAL_CI
    status: str | None = None  # newest result for the current commit; None = silence
    waivers: tuple[WaiverEvidence, ...] = ()
    # The first result of the current run of equal statuses: a gate that failed and then
    # passed again has a new one, so what was signed before the failure goes stale.
    status_since: int | None = None


@dataclass(frozen=True)
class DefectEvidence:
    id: int
    title: str
    severity: str  # critical | major | minor
    open: bool


@dataclass(frozen=True)
class CoreItemEvidence:
    id: int
    title: str
    state: str  # open | passed | failed | blocked | n/a


@dataclass(frozen=True)
class SignOffEvidence:
    role: str
    vote: str  # go | no_go
    fresh: bool
    signed_by: str = ""
    # Why it is stale (board.staleness.StaleReason's code and params); "" while fresh.
    stale_code: str = ""
    stale_params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OperationsEvidence:
    runbook_url: str
    required_oncall_roles: frozenset[str]
    oncall_roles: frozenset[str]
    last_rollback_rehearsal: date | None  # last *passed* rollback rehearsal
    rehearsal_window_days: int = 90
    # (role, when its contact was last reviewed; None: never), for the contacts on record.
    # A required role's contact reviewed before `contacts_review_days` blocks, as a missing one.
    oncall_reviewed_on: tuple[tuple[str, date | None], ...] = ()
    contacts_review_days: int = 90


@dataclass(frozen=True)
class ReleaseEvidence:
    now: datetime
    gates: tuple[GateEvidence, ...]
    defects: tuple[DefectEvidence, ...]
    core_items: tuple[CoreItemEvidence, ...]
    required_signoff_roles: tuple[str, ...]
    signoffs: tuple[SignOffEvidence, ...]
    operations: OperationsEvidence
    build_number: int = 0
    commit_sha: str = ""


@dataclass(frozen=True)
class Blocker:
    """One reason the release may not be called Go. `target` names the object it points
    at (`gate`, `defect`, `checklist_item`, `signoff`, `operations`) and `target_id` its
    key or id, so the board and the API can link to it."""

    code: str
    target: str
    target_id: str
    params: tuple[tuple[str, str], ...] = field(default=())

    def message(self, language: str | None = None) -> str:
        """The blocker in plain words, in `language` (default: the active language)."""
        if language is None:
            return _render(self)
        with override(language):
            return _render(self)


@dataclass(frozen=True)
class Verdict:
    ready: bool
    blockers: tuple[Blocker, ...]

    @property
    def count(self) -> int:
        return len(self.blockers)


def waiver_counts(gate: GateEvidence, waiver: WaiverEvidence, now: datetime) -> bool:
    """A waiver counts only when approved by another PM/PO, unexpired, on a waivable gate,
    for the release's current build and commit."""
    return (
        waiver.current
        and gate.waivable
        and gate.key not in NEVER_WAIVABLE
        and waiver.state == "approved"
        and waiver.approved_by is not None
        and waiver.approved_by != waiver.requested_by
        and waiver.approver_is_pm
        and now < waiver.expires_at
    )


def effective_waiver(gate: GateEvidence, now: datetime) -> WaiverEvidence | None:
    for waiver in gate.waivers:
        if waiver_counts(gate, waiver, now):
            return waiver
    return None


def gate_blockers(gate: GateEvidence, now: datetime) -> list[Blocker]:
    if not gate.blocking or gate.phase != "pre_release":
        return []
    if gate.evaluation == EVAL_CHECKLIST and gate.status is None:
        # Conditions 2 and 3 cover defects and core items; but with no core items at all
        # there is nothing to pass, and "nothing checked" must not read as "all passed".
        return [Blocker("core_checklist_missing", "gate", gate.key, (("gate", gate.name),))]
    if gate.evaluation != EVAL_CI:
        return []
    if gate.status == "passed":
        return []
    if effective_waiver(gate, now) is not None:
        return []
    params = (("gate", gate.name), ("status", gate.status or "none"))
    if gate.status == "failed":
        code = "gate_failed"
    elif gate.status == "error":
        code = "gate_error"
    elif gate.status == "skipped":
        code = "gate_skipped"
    elif gate.status in ("pending", "running"):
        code = "gate_in_progress"
    else:
        code = "gate_no_result"
    lapsed = [
        w for w in gate.waivers if now >= w.expires_at and waiver_counts(gate, w, w.expires_at - _INSTANT)
    ]
    if lapsed:
        code = "gate_waiver_expired"
    return [Blocker(code, "gate", gate.key, params)]


def core_gate_status(states: Iterable[str]) -> str | None:
    """The core-scenarios gate's status from its items' states (None: no core items)."""
    found = set(states)
    if not found:
        return None
    if found == {"passed"}:
        return "passed"
    if found & {"failed", "blocked"}:
        return "failed"
    if found & {"passed", "n/a"}:
        return "running"
    return "pending"


def verdict(evidence: ReleaseEvidence) -> Verdict:
    """Whether the release may be called Go, and every reason it may not."""
    now = evidence.now
    blockers: list[Blocker] = []

    for gate in evidence.gates:
        blockers.extend(gate_blockers(gate, now))

    for defect in evidence.defects:
        if defect.open and defect.severity == "critical":
            blockers.append(
                Blocker("critical_defect_open", "defect", str(defect.id), (("title", defect.title),))
            )

    for item in evidence.core_items:
        if item.state != "passed":
            blockers.append(
                Blocker(
                    f"core_item_{item.state.replace('/', '')}",
                    "checklist_item",
                    str(item.id),
                    (("title", item.title),),
                )
            )

    latest = {s.role: s for s in evidence.signoffs}
    for role in evidence.required_signoff_roles:
        signoff = latest.get(role)
        if signoff is None:
            code = "signoff_missing"
        elif signoff.vote != "go":
            code = "signoff_no_go"
        elif not signoff.fresh:
            code = "signoff_stale"
        else:
            continue
        who = signoff.signed_by if signoff else ""
        params: tuple[tuple[str, str], ...] = (("role", role), ("who", who))
        if code == "signoff_stale" and signoff is not None and signoff.stale_code:
            change = tuple((f"change.{k}", v) for k, v in signoff.stale_params)
            params = (*params, ("change", signoff.stale_code), *change)
        blockers.append(Blocker(code, "signoff", role, params))

    ops = evidence.operations
    if not ops.runbook_url:
        blockers.append(Blocker("runbook_missing", "operations", "runbook"))
    for role in sorted(ops.required_oncall_roles - ops.oncall_roles):
        blockers.append(Blocker("oncall_missing", "operations", f"oncall-{role}", (("role", role),)))
    blockers.extend(_contact_review_blockers(ops, now.date()))
    window_start = now.date() - timedelta(days=ops.rehearsal_window_days)
    if ops.last_rollback_rehearsal is None or ops.last_rollback_rehearsal > now.date():
        blockers.append(Blocker("rollback_rehearsal_missing", "operations", "rehearsal"))
    elif ops.last_rollback_rehearsal < window_start:
        blockers.append(
            Blocker(
                "rollback_rehearsal_old",
                "operations",
                "rehearsal",
                (
                    ("date", ops.last_rollback_rehearsal.isoformat()),
                    ("days", str(ops.rehearsal_window_days)),
                ),
            )
        )

    return Verdict(ready=not blockers, blockers=tuple(blockers))


def _contact_review_blockers(ops: OperationsEvidence, today: date) -> list[Blocker]:
    """A required role's contact never reviewed, or last reviewed before the window."""
    reviewed = dict(ops.oncall_reviewed_on)
    days = ops.contacts_review_days
    review_start = today - timedelta(days=days)
    blockers = []
    for role in sorted(ops.required_oncall_roles & ops.oncall_roles & reviewed.keys()):
        when = reviewed[role]
        if when is None:
            params: tuple[tuple[str, str], ...] = (("role", role), ("days", str(days)))
            blockers.append(Blocker("oncall_never_reviewed", "operations", f"oncall-{role}", params))
        elif when < review_start:
            params = (("role", role), ("date", when.isoformat()), ("days", str(days)))
            blockers.append(Blocker("oncall_not_reviewed", "operations", f"oncall-{role}", params))
    return blockers


def evidence_fingerprint(
    *, build_number: int, commit_sha: str, gate_states: Iterable[tuple[str, str]]
) -> str:
    """A short hash of what a sign-off or decision stands on. It changes with a new build
    or commit, and when any gate's effective state (passed, failed, waived, …) changes."""
    payload = json.dumps(
        {"build": build_number, "commit": commit_sha, "gates": sorted(gate_states)},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def effective_gate_state(gate: GateEvidence, now: datetime) -> str:
    """The gate's state as the verdict sees it: its status, or `waived`."""
    if gate.status != "passed" and effective_waiver(gate, now) is not None:
        return "waived"
    return gate.status or "none"


def gate_fingerprint_states(gates: Iterable[GateEvidence], now: datetime) -> list[tuple[str, str]]:
    """The gates a release is decided on: those before release. Smoke gates (after deploy)
    report during the rollout; their results must not make the Go or sign-offs stale."""
    return [
        (g.key, f"{effective_gate_state(g, now)}@{g.status_since or 0}")
        for g in gates
        if g.phase == "pre_release"
    ]


def fingerprint_of(evidence: ReleaseEvidence) -> str:
    return evidence_fingerprint(
        build_number=evidence.build_number,
        commit_sha=evidence.commit_sha,
        gate_states=gate_fingerprint_states(evidence.gates, evidence.now),
    )


ROLE_LABELS = {
    "pm": gettext_noop("PM/PO"),
    "qa": gettext_noop("QA"),
    "mobile_lead": gettext_noop("Mobile Lead"),
    "backend_lead": gettext_noop("Backend Lead"),
    "devops": gettext_noop("DevOps"),
}


def _role_label(role: str) -> str:
    return _(ROLE_LABELS[role]) if role in ROLE_LABELS else role


# Blocker texts, translated only when shown (one gettext call per message).
MESSAGES = {
    "gate_failed": gettext_noop("“%(gate)s” failed. Fix it and run it again, or ask for a waiver."),
    "gate_error": gettext_noop("“%(gate)s” did not finish (error or cancelled). Run it again."),
    "gate_skipped": gettext_noop("“%(gate)s” was skipped. A skipped check does not count as passed."),
    "gate_in_progress": gettext_noop("“%(gate)s” is still running or waiting. Wait for the result."),
    "gate_no_result": gettext_noop("“%(gate)s” has no result for this build yet."),
    "gate_waiver_expired": gettext_noop("The waiver for “%(gate)s” has expired and the gate has not passed."),
    "critical_defect_open": gettext_noop("A critical defect is open: “%(title)s”."),
    "core_item_open": gettext_noop("Core scenario not checked yet: “%(title)s”."),
    "core_checklist_missing": gettext_noop(
        "“%(gate)s” has no core scenarios to check: the release has no checklist with core items."
    ),
    "core_item_failed": gettext_noop("Core scenario failed: “%(title)s”."),
    "core_item_blocked": gettext_noop("Core scenario blocked: “%(title)s”."),
    "core_item_na": gettext_noop(
        "Core scenario marked not applicable: “%(title)s”. Core scenarios must pass."
    ),
    "signoff_missing": gettext_noop("%(role)s has not signed off yet."),
    "signoff_no_go": gettext_noop("%(role)s voted No-Go."),
    "signoff_stale": gettext_noop("%(role)s signed off before this change: %(change)s. Sign off again."),
    "runbook_missing": gettext_noop("No runbook link for this product."),
    "oncall_missing": gettext_noop("No on-call contact for %(role)s."),
    "oncall_not_reviewed": gettext_noop(
        "On-call contact for %(role)s not reviewed since %(date)s (window %(days)s days)."
    ),
    "oncall_never_reviewed": gettext_noop(
        "On-call contact for %(role)s has never been reviewed (window %(days)s days)."
    ),
    "rollback_rehearsal_missing": gettext_noop("No passed rollback rehearsal on record."),
    "rollback_rehearsal_old": gettext_noop(
        "The last passed rollback rehearsal (%(date)s) is older than %(days)s days."
    ),
    "post_deploy_gate_not_passed": gettext_noop(
        "“%(gate)s” has not passed yet: the rollout advances once it has."
    ),
}


def _render(blocker: Blocker) -> str:
    p = dict(blocker.params)
    # Names from the default policy are in the catalogue; a team's own pass through as they are.
    if "gate" in p:
        p["gate"] = _(p["gate"])
    if blocker.target == "checklist_item" and "title" in p:
        p["title"] = _(p["title"])
    if "role" in p:
        p["role"] = _role_label(p["role"])
    if blocker.code == "signoff_stale":
        change = [(k.removeprefix("change."), v) for k, v in blocker.params if k.startswith("change.")]
        p["change"] = stale_message(p["change"], change) if p.get("change") else _("the evidence changed")
    template = _(MESSAGES[blocker.code]) if blocker.code in MESSAGES else blocker.code
    try:
        return template % p
    except (KeyError, ValueError):
        return template
