"""Sign-offs and the PM/PO's call: what each role and the decision were given on.

Each service is atomic, checks its rules under the release's row lock, and writes its
audit event in the same transaction. The rules that make a bypass impossible (PM-only
call, Go only when ready, on the evidence the caller saw) are enforced here, whatever
the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from core.when import when_text
from live.services import live_notify
from releases.events import event_emit
from releases.lifecycle import release_lock_get, transition
from releases.models import SIGNOFF_STATES, Decision, Release, ReleaseState, SignOff, Vote

from .selectors import ReleaseBoard, release_board
from .staleness import owned_failing_gates

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def signoff_record(
    *,
    release: Release,
    role: str,
    vote: str,
    actor: User | None,
    comment: str = "",
    confirm_failing: bool = False,
) -> SignOff:
    """A role's Go or No-Go. The actor must hold that role for the product, and the role
    must be one the product requires. A Go while a gate the role owns fails needs a
    comment saying why, or `confirm_failing`. The sign-off remembers the evidence it was
    given on."""
    release = release_lock_get(release)
    if role not in release.product.signoff_roles:
        raise RuleViolation(
            "role_not_required",
            _("%(product)s does not ask for a sign-off from this role.") % {"product": release.product.slug},
            field="role",
        )
    if not can(actor, Capability.SIGN_OFF, release.product, role=role):
        raise NotAllowed("role_not_held", _("You can only sign off for a role you hold."), field="role")
    if vote not in Vote.values:
        raise RuleViolation("vote_invalid", _("Vote Go or No-Go."), field="vote")
    if vote == Vote.NO_GO and not (comment or "").strip():
        raise RuleViolation("reason_required", _("Say why you vote No-Go."), field="comment")
    if release.state not in SIGNOFF_STATES:
        raise Conflict(
            "illegal_state",
            _("Sign-offs are taken while the release is a candidate, not in state “%(state)s”.")
            % {"state": ReleaseState(release.state).label},
        )
    board = release_board(release)
    failing = owned_failing_gates(board.gates, role)
    if vote == Vote.GO and failing and not (comment or "").strip() and not confirm_failing:
        raise RuleViolation(
            "own_gate_failing",
            _(
                "%(gates)s, which your role owns, has not passed. Say in the comment why you sign Go "
                "anyway, or confirm that you sign Go knowing it."
            )
            % {"gates": ", ".join(f"“{_(name)}”" for name in failing)},
            field="comment",
        )
    signoff = SignOff.objects.create(
        release=release,
        role=role,
        vote=vote,
        comment=(comment or "").strip(),
        signed_by=actor,
        signed_at=timezone.now(),
        evidence_fingerprint=board.fingerprint,
        evidence=_evidence_snapshot(board),
    )
    audit_record(
        actor=actor,
        action="signoff.record",
        obj=signoff,
        after={"role": role, "vote": vote, "comment": signoff.comment},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="signoff")
    return signoff


def _evidence_snapshot(board: ReleaseBoard) -> dict[str, Any]:
    """What a sign-off or decision was given on, kept with it and shown when it goes stale."""
    return {
        "build_number": board.release.build_number,
        "commit_sha": board.release.commit_sha,
        "gates": {row.gate.key: row.display_status for row in board.gates},
        "waivers_in_force": {
            row.gate.key: {
                "id": row.waiver_in_force.id,
                "approved_by": row.waiver_in_force.approved_by_name,
                "expires_at": row.waiver_in_force.expires_at,
            }
            for row in board.gates
            if row.waiver_in_force
        },
        "open_defects": [{"id": d.pk, "title": d.title, "severity": d.severity} for d in board.open_defects],
        "core_items": {"passed": board.core_progress["passed"], "total": board.core_progress["total"]},
        "signoffs": {
            row["role"]: {
                "vote": row["signoff"].vote,
                "by": row["signoff"].signed_by.get_username(),
                "fresh": row["fresh"],
            }
            for row in board.signoff_rows
            if row["signoff"]
        },
        "last_rollback_rehearsal": board.last_rollback.performed_on if board.last_rollback else None,
        "ready": board.verdict.ready,
        "blockers": [{"code": b.code, "target": b.target, "id": b.target_id} for b in board.verdict.blockers],
        "fingerprint": board.fingerprint,
        # The rules the verdict applied: a later weakening makes a Go stale (board/rules.py).
        "rules": board.rules,
    }


@transaction.atomic
def release_decide(
    *,
    release: Release,
    outcome: str,
    actor: User | None,
    rationale: str = "",
    seen_fingerprint: str | None = None,
    seen_decision: int | None = None,
) -> Decision:
    """The PM/PO's final call. Go only when the verdict is ready (re-checked here, under a
    row lock, on fresh evidence); No-Go always, with a reason. The decision freezes the
    evidence it was made on.

    `seen_fingerprint` and `seen_decision` (0 for none) are what the caller's page showed.
    When the evidence or the decision changed since, the call is refused: nobody calls Go
    on a page that is out of date, and of two PMs deciding at once the second is told."""
    release = release_lock_get(release)
    latest = Decision.objects.filter(release=release).select_related("decided_by").first()
    if seen_decision is not None and latest is not None and latest.pk != seen_decision:
        raise Conflict(
            "decided_meanwhile",
            _("%(who)s called %(outcome)s at %(when)s, after you opened this page. Look at the board again.")
            % {
                "who": latest.decided_by.get_username(),
                "outcome": latest.get_outcome_display(),
                "when": when_text(latest.decided_at, "time_seconds"),
            },
        )
    if not can(actor, Capability.DECIDE, release.product):
        raise NotAllowed("role_not_held", _("Only a PM/PO can make the final call."))
    if outcome not in Vote.values:
        raise RuleViolation("outcome_invalid", _("Decide Go or No-Go."), field="outcome")
    rationale = (rationale or "").strip()
    if outcome == Vote.NO_GO and not rationale:
        raise RuleViolation("reason_required", _("Say why the release is No-Go."), field="rationale")
    board = release_board(release)
    if outcome == Vote.GO and seen_fingerprint and seen_fingerprint != board.fingerprint:
        raise Conflict(
            "evidence_changed",
            _("The evidence changed since you opened this page. Look at the board again before calling Go."),
            blockers=[{"code": b.code, "message": b.message()} for b in board.verdict.blockers],
        )
    if outcome == Vote.GO and not board.verdict.ready:
        raise Conflict(
            "not_ready",
            _("The release cannot be called Go while %(count)s blocker(s) stand.")
            % {"count": board.verdict.count},
            blockers=[{"code": b.code, "message": b.message()} for b in board.verdict.blockers],
        )
    target = ReleaseState.GO if outcome == Vote.GO else ReleaseState.NO_GO
    transition(release, target, actor=actor, action="release.decide")
    decision = Decision.objects.create(
        release=release,
        outcome=outcome,
        rationale=rationale,
        decided_by=actor,
        decided_at=timezone.now(),
        evidence_fingerprint=board.fingerprint,
        snapshot=_evidence_snapshot(board),
    )
    audit_record(
        actor=actor,
        action="decision.record",
        obj=decision,
        after={"outcome": outcome, "rationale": rationale},
        release_id=release.pk,
    )
    event = "decision.go" if outcome == Vote.GO else "decision.no_go"
    event_emit(event, release=release, actor=actor, data={"by": actor.get_username(), "rationale": rationale})
    live_notify(release_id=release.pk, change="decision")
    return decision
