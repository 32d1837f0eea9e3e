"""Every change to a release: creation, new builds, lifecycle moves, sign-offs, the call.

Each service is atomic, checks its rules, and writes its audit event in the same
transaction. Callers check permissions in the view as well; the rules that make a bypass
impossible (PM-only call, Go only when ready) are enforced here, whatever the caller.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from accounts.permissions import has_role
from audit.services import audit_record
from gonogo.errors import Conflict, NotAllowed, RuleViolation
from live.services import live_notify

from .models import (
    RELEASE_TRANSITIONS,
    Decision,
    Product,
    Release,
    ReleaseState,
    SignOff,
    Vote,
    same_commit,
)
from .selectors import release_board

# semver.org's regular expression (2.0.0), without a leading "v".
SEMVER_RE = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
SHA_RE = re.compile(r"^[0-9a-fA-F]{7,64}$")


def version_validate(version: str) -> str:
    """A semantic version (MAJOR.MINOR.PATCH, optional -pre and +build)."""
    if not SEMVER_RE.match(version or "") or len(version) > 64:
        raise RuleViolation(
            "version_not_semantic",
            _(
                "Version “%(version)s” is not a semantic version. Use MAJOR.MINOR.PATCH, "
                "for example 2.4.0 or 2.4.0-rc.1."
            )
            % {"version": version},
            field="version",
        )
    return version


def build_number_parse(build: Any) -> int:
    try:
        number = int(str(build).strip())
    except (TypeError, ValueError):
        number = -1
    if not 1 <= number <= 2**63 - 1 or str(build).strip().startswith("+"):
        raise RuleViolation(
            "build_number_invalid",
            _("Build number “%(build)s” must be a positive whole number, for example 1240.")
            % {"build": build},
            field="build",
        )
    return number


def _build_number_check(product: Product, number: int) -> None:
    if number <= product.last_build_number:
        raise RuleViolation(
            "build_number_not_increasing",
            _(
                "Build number %(build)s is not above the last accepted build number of "
                "%(product)s, which is %(last)s. Each new build must have a higher number."
            )
            % {"build": number, "product": product.slug, "last": product.last_build_number},
            field="build",
            last_accepted=product.last_build_number,
        )


def _commit_check(commit: str) -> str:
    commit = (commit or "").strip()
    if commit and not SHA_RE.match(commit):
        raise RuleViolation(
            "commit_invalid",
            _("Commit “%(commit)s” is not a git commit hash (7 to 64 hexadecimal characters).")
            % {"commit": commit},
            field="commit",
        )
    return commit.lower()


def _snapshot(release: Release) -> dict[str, Any]:
    return {
        "version": release.version,
        "build_number": release.build_number,
        "commit_sha": release.commit_sha,
        "branch": release.branch,
        "state": release.state,
    }


def _transition(
    release: Release,
    target: str,
    *,
    actor: Any,
    action: str,
    note: dict[str, Any] | None = None,
    actor_label: str = "",
) -> Release:
    """Move a locked release to `target`, refusing transitions the lifecycle forbids.
    `note` is added to the audit event (a reason, say)."""
    if target not in RELEASE_TRANSITIONS[release.state]:
        raise Conflict(
            "illegal_transition",
            _("A release in state “%(state)s” cannot become “%(target)s”.")
            % {
                "state": ReleaseState(release.state).label,
                "target": ReleaseState(target).label,
            },
            state=release.state,
        )
    before = _snapshot(release)
    release.state = target
    release.state_changed_at = timezone.now()
    release.save(update_fields=["state", "state_changed_at"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action=action,
        obj=release,
        before=before,
        after={**_snapshot(release), **(note or {})},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="release")
    return release


def _lock(release: Release) -> Release:
    return Release.objects.select_for_update(of=("self",)).select_related("product").get(pk=release.pk)


def release_lock(release_id: int) -> None:
    """Take the release's row lock for the rest of the transaction. Every change to a
    release's evidence takes it, so a decision never reads evidence half-changed."""
    Release.objects.select_for_update().filter(pk=release_id).values_list("pk").get()


def _replay_waiting_deliveries(release: Release) -> None:
    """CI results that arrived before this release (or its new commit) existed are applied
    after commit."""
    from integrations.services import deliveries_replay_schedule

    deliveries_replay_schedule(release=release)


@transaction.atomic
def release_create(
    *,
    product: Product,
    version: str,
    build: Any,
    commit: str = "",
    branch: str = "",
    target_date: date | None = None,
    owner: Any = None,
    actor: Any = None,
    actor_label: str = "",
    state: str = ReleaseState.DRAFT,
) -> Release:
    """Create a release. The version must be semantic and new for the product; the build
    number strictly above the product's last. `state` may be `draft` or `candidate`."""
    version = version_validate((version or "").strip())
    number = build_number_parse(build)
    commit = _commit_check(commit)
    locked = Product.objects.select_for_update().get(pk=product.pk)
    if Release.objects.filter(product=locked, version=version).exists():
        raise RuleViolation(
            "version_exists",
            _("%(product)s already has a release %(version)s. Use a new version, or post a new build.")
            % {"product": locked.slug, "version": version},
            field="version",
        )
    _build_number_check(locked, number)
    if state not in (ReleaseState.DRAFT, ReleaseState.CANDIDATE):
        raise RuleViolation("illegal_initial_state", _("A new release starts as a draft or a candidate."))
    now = timezone.now()
    release = Release.objects.create(
        product=locked,
        version=version,
        build_number=number,
        commit_sha=commit,
        branch=(branch or "").strip(),
        target_date=target_date,
        owner=owner,
        state=ReleaseState.DRAFT,
        state_changed_at=now,
        created_at=now,
    )
    locked.last_build_number = number
    locked.save(update_fields=["last_build_number"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="release.create",
        obj=release,
        after=_snapshot(release),
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="release")
    if state == ReleaseState.CANDIDATE:
        release = release_promote(release=release, actor=actor)
    _replay_waiting_deliveries(release)
    return release


@transaction.atomic
def release_report(
    *, product: Product, version: str, build: Any, commit: str = "", branch: str = "", actor_label: str = ""
) -> tuple[Release, str]:
    """A candidate announced by CI. A new version is created as a candidate; the same
    version with a higher build is a new build; the same build and commit again changes
    nothing. Returns the release and which of `created`, `new_build`, `unchanged` it was."""
    version = version_validate((version or "").strip())
    # Two pipelines announcing the same version at once: the second sees the first's.
    Product.objects.select_for_update().filter(pk=product.pk).values_list("pk").get()
    existing = Release.objects.filter(product=product, version=version).select_related("product").first()
    if existing is None:
        release = release_create(
            product=product,
            version=version,
            build=build,
            commit=commit,
            branch=branch,
            actor_label=actor_label,
            state=ReleaseState.CANDIDATE,
        )
        return release, "created"
    number = build_number_parse(build)
    commit = _commit_check(commit)
    if number == existing.build_number and (not commit or same_commit(commit, existing.commit_sha)):
        return existing, "unchanged"
    return release_new_build(
        release=existing, build=number, commit=commit, actor_label=actor_label
    ), "new_build"


@transaction.atomic
def release_promote(*, release: Release, actor: Any = None) -> Release:
    """Draft → candidate. The release's checklists are copied from their templates now."""
    from checklists.services import checklists_create_for_release

    release = _lock(release)
    _transition(release, ReleaseState.CANDIDATE, actor=actor, action="release.promote")
    checklists_create_for_release(release=release, actor=actor)
    return release


@transaction.atomic
def release_new_build(
    *, release: Release, build: Any, commit: str = "", actor: Any = None, actor_label: str = ""
) -> Release:
    """A new build of the same version: number above the product's last, new commit.
    Sign-offs given on the old build go stale; a No-Go release returns to candidate."""
    number = build_number_parse(build)
    commit = _commit_check(commit)
    release = _lock(release)
    commit = commit or release.commit_sha  # a build without a commit keeps the commit it had
    if release.state not in (ReleaseState.DRAFT, ReleaseState.CANDIDATE, ReleaseState.NO_GO, ReleaseState.GO):
        raise Conflict(
            "illegal_transition",
            _("A release in state “%(state)s” cannot take a new build.")
            % {"state": ReleaseState(release.state).label},
        )
    product = Product.objects.select_for_update().get(pk=release.product_id)
    _build_number_check(product, number)
    before = _snapshot(release)
    release.build_number = number
    release.commit_sha = commit
    release.save(update_fields=["build_number", "commit_sha"])
    product.last_build_number = number
    product.save(update_fields=["last_build_number"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="release.new_build",
        obj=release,
        before=before,
        after=_snapshot(release),
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="release")
    if release.state in (ReleaseState.NO_GO, ReleaseState.GO):
        _transition(release, ReleaseState.CANDIDATE, actor=actor, action="release.reopen")
    _replay_waiting_deliveries(release)
    return release


@transaction.atomic
def release_halt(*, release: Release, actor: Any = None, actor_label: str = "", reason: str) -> Release:
    """Rolling out → halted, with the reason on record (monitoring's out-of-bounds health,
    or a person)."""
    release = _lock(release)
    _transition(
        release,
        ReleaseState.HALTED,
        actor=actor,
        actor_label=actor_label,
        action="release.halt",
        note={"reason": reason},
    )
    return release


def _ensure_devops(actor: Any, release: Release) -> None:
    if not has_role(actor, Role.DEVOPS, release.product):
        raise NotAllowed("devops_only", _("Only DevOps runs the rollout of this product."))


def _ensure_state(release: Release, state: str, message: str) -> None:
    """`message` says which state the step needs; %(state)s is the release's own."""
    if release.state != state:
        raise Conflict(
            "illegal_transition", message % {"state": ReleaseState(release.state).label}, state=release.state
        )


def _ensure_go_in_force(release: Release, *, resuming: bool = False) -> None:
    """The newest decision is Go and the verdict is still ready; before the rollout, also on
    unchanged evidence. (Resuming, the evidence has moved on: smoke results and health
    samples arrive during a rollout. What must hold is the Go and a ready verdict.)"""
    board = release_board(release)
    if not (
        board.decision
        and board.decision.outcome == "go"
        and (resuming or not board.decision_stale)
        and board.verdict.ready
    ):
        raise Conflict(
            "go_not_standing",
            _(
                "The Go decision no longer stands (the evidence changed or a blocker appeared): "
                "the PM/PO decides again first."
            ),
        )


def _ensure_health_in_bounds(release: Release) -> None:
    from operations.models import HealthSample

    newest = HealthSample.objects.filter(release=release).order_by("-sampled_at", "-id").first()
    if newest is not None and newest.breaches:
        raise Conflict(
            "health_out_of_bounds",
            _("The newest health sample (%(at)s) is out of bounds: %(what)s. Wait for one within bounds.")
            % {
                "at": timezone.localtime(newest.sampled_at).strftime("%Y-%m-%d %H:%M"),
                "what": newest.breach_text,
            },
        )


@transaction.atomic
def release_rollout_start(*, release: Release, actor: Any) -> Release:
    """Go → rolling out (DevOps), only while the Go decision stands: decided, not stale,
    verdict still ready. Nothing ships around a failing gate."""
    release = _lock(release)
    _ensure_devops(actor, release)
    _ensure_state(
        release,
        ReleaseState.GO,
        _("Only a release called Go can start rolling out; this one is “%(state)s”."),
    )
    _ensure_go_in_force(release)
    release.rollout_percent = rollout_stages(release)[0]
    release.save(update_fields=["rollout_percent"])
    _transition(
        release,
        ReleaseState.ROLLING_OUT,
        actor=actor,
        action="release.rollout_start",
        note={"stage_percent": release.rollout_percent},
    )
    return release


@transaction.atomic
def release_rollout_resume(*, release: Release, actor: Any) -> Release:
    """Halted → rolling out again (DevOps), once health is back within bounds, while the
    decision is Go and the verdict still ready."""
    release = _lock(release)
    _ensure_devops(actor, release)
    _ensure_state(
        release, ReleaseState.HALTED, _("Only a halted rollout can be resumed; this release is “%(state)s”.")
    )
    _ensure_go_in_force(release, resuming=True)
    _ensure_health_in_bounds(release)
    _transition(release, ReleaseState.ROLLING_OUT, actor=actor, action="release.rollout_resume")
    return release


def rollout_stages(release: Release) -> list[int]:
    """The product's rollout stages in percent, ascending, ending at 100 (entries that are
    not whole percentages between 1 and 100 are left out)."""
    raw = release.product.rollout_stages
    stages = sorted(
        {
            p
            for p in (raw if isinstance(raw, list) else [])
            if isinstance(p, int) and not isinstance(p, bool) and 0 < p <= 100
        }
    )
    return stages if stages and stages[-1] == 100 else [*stages, 100]


def rollout_next(release: Release) -> int:
    """The stage an advance leads to: the first above the current one (100 at the end)."""
    stages = rollout_stages(release)
    current = release.rollout_percent or 0
    return next((p for p in stages if p > current), 100)


@transaction.atomic
def release_rollout_advance(*, release: Release, actor: Any, to: int | None = None) -> Release:
    """The next stage of the staged rollout (DevOps): 1 % → 5 % → 20 % → 100 % by default.
    Past the first stage only with every smoke gate (after deploy) passed, and never past
    out-of-bounds health. Reaching the last stage, the release is fully rolled out. `to`
    is the stage the person saw on the button: if the rollout moved on meanwhile (a second
    click, a colleague), nothing happens and they are told."""
    release = _lock(release)
    _ensure_devops(actor, release)
    _ensure_state(
        release,
        ReleaseState.ROLLING_OUT,
        _("Only a release rolling out can advance to its next stage; this one is “%(state)s”."),
    )
    unpassed = [
        row.gate
        for row in release_board(release).gates
        if row.gate.phase == "post_deploy" and row.status != "passed"
    ]
    if unpassed:
        raise Conflict(
            "post_deploy_gate_not_passed",
            _("“%(gate)s” after deploy has not passed yet.") % {"gate": _(unpassed[0].name)},
            gates=[g.key for g in unpassed],
        )
    _ensure_health_in_bounds(release)
    following = rollout_next(release)
    if to is not None and to != following:
        raise Conflict(
            "stage_moved",
            _(
                "The rollout is at %(now)s %% already (you asked for %(asked)s %%): look again before advancing."
            )
            % {"now": release.rollout_percent, "asked": to},
        )
    before = release.rollout_percent
    release.rollout_percent = following
    release.save(update_fields=["rollout_percent"])
    if following == 100:
        _transition(
            release,
            ReleaseState.RELEASED,
            actor=actor,
            action="release.rollout_finish",
            note={"stage_percent": 100},
        )
        return release
    audit_record(
        actor=actor,
        action="release.rollout_advance",
        obj=release,
        before={"stage_percent": before},
        after={"stage_percent": following},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="release")
    return release


MAX_MINUTES = 7 * 24 * 60  # a rollback or rehearsal of more than a week is a typo


def minutes_parse(raw: Any) -> int:
    """Whole minutes, 0 to a week, written with ASCII digits."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_MINUTES:
        raise RuleViolation(
            "minutes_invalid",
            _("Give the minutes it took as a whole number from 0 to %(max)s.") % {"max": MAX_MINUTES},
            field="minutes",
        )
    return int(text)


@transaction.atomic
def release_halt_by(*, release: Release, actor: Any, reason: str) -> Release:
    """A person halts the rollout (DevOps), saying why."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", _("Say why the rollout is halted."), field="reason")
    _ensure_devops(actor, release)
    return release_halt(release=release, actor=actor, reason=reason)


@transaction.atomic
def release_roll_back(*, release: Release, actor: Any, minutes: Any, notes: str = "") -> Release:
    """A real rollback (DevOps) of a release rolling out, halted or released, with the
    minutes it took: kept beside the product's rollback target."""
    from operations.models import Rollback

    taken = minutes_parse(minutes)
    release = _lock(release)
    _ensure_devops(actor, release)
    _transition(
        release, ReleaseState.ROLLED_BACK, actor=actor, action="release.roll_back", note={"minutes": taken}
    )
    Rollback.objects.create(
        release=release,
        product=release.product,
        minutes=taken,
        notes=(notes or "").strip(),
        recorded_by=actor,
        rolled_back_at=release.state_changed_at,
    )
    return release


@transaction.atomic
def release_cancel(*, release: Release, actor: Any, reason: str) -> Release:
    """Cancel a release that has not started rolling out: the PM/PO or the release owner,
    with a reason (kept in the audit trail)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", _("Say why the release is cancelled."), field="reason")
    release = _lock(release)
    if not (
        has_role(actor, Role.PM, release.product) or (actor is not None and release.owner_id == actor.pk)
    ):
        raise NotAllowed("role_not_held", _("Only a PM/PO or the release owner can cancel it."))
    return _transition(
        release, ReleaseState.CANCELLED, actor=actor, action="release.cancel", note={"reason": reason}
    )


@transaction.atomic
def signoff_record(*, release: Release, role: str, vote: str, actor: Any, comment: str = "") -> SignOff:
    """A role's Go or No-Go. The actor must hold that role for the product, and the role
    must be one the product requires. The sign-off remembers the evidence it was given on."""
    release = _lock(release)
    if role not in release.product.signoff_roles:
        raise RuleViolation(
            "role_not_required",
            _("%(product)s does not ask for a sign-off from this role.") % {"product": release.product.slug},
            field="role",
        )
    if not has_role(actor, role, release.product):
        raise NotAllowed("role_not_held", _("You can only sign off for a role you hold."), field="role")
    if vote not in Vote.values:
        raise RuleViolation("vote_invalid", _("Vote Go or No-Go."), field="vote")
    if vote == Vote.NO_GO and not (comment or "").strip():
        raise RuleViolation("reason_required", _("Say why you vote No-Go."), field="comment")
    if release.state not in (ReleaseState.CANDIDATE, ReleaseState.GO, ReleaseState.NO_GO):
        raise Conflict(
            "illegal_state",
            _("Sign-offs are taken while the release is a candidate, not in state “%(state)s”.")
            % {"state": ReleaseState(release.state).label},
        )
    board = release_board(release)
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


def _evidence_snapshot(board: Any) -> dict[str, Any]:
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
        # The rules the verdict applied: a later weakening makes a Go stale (releases/rules.py).
        "rules": board.rules,
    }


@transaction.atomic
def release_decide(
    *,
    release: Release,
    outcome: str,
    actor: Any,
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
    release = _lock(release)
    latest = Decision.objects.filter(release=release).select_related("decided_by").first()
    if seen_decision is not None and latest is not None and latest.pk != seen_decision:
        raise Conflict(
            "decided_meanwhile",
            _("%(who)s called %(outcome)s at %(when)s, after you opened this page. Look at the board again.")
            % {
                "who": latest.decided_by.get_username(),
                "outcome": latest.get_outcome_display(),
                "when": timezone.localtime(latest.decided_at).strftime("%H:%M:%S"),
            },
        )
    if not has_role(actor, Role.PM, release.product):
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
    _transition(release, target, actor=actor, action="release.decide")
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
    live_notify(release_id=release.pk, change="decision")
    return decision
