"""The release's life, and nothing around it: creation, new builds, the lifecycle moves,
`release_lock`, and the version, build and commit rules.

Each service is atomic, checks its rules, and writes its audit event in the same
transaction. What other apps add to a move is theirs, called by the layer above:
checklists copied at promotion (`board.lifecycle`), the rollout's stages
(`operations.rollout`), and the CI results that waited for a new release or build
(`integrations.inbox.deliveries_replay_schedule`, called by the API after
`release_report`: any new caller that creates a release or a build must call it too).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from live.services import live_notify

from .events import release_commit_set
from .models import NEW_BUILD_STATES, RELEASE_TRANSITIONS, Product, Release, ReleaseState, same_commit

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


def commit_check(commit: str) -> str:
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


def transition(
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


def release_lock_get(release: Release) -> Release:
    return Release.objects.select_for_update(of=("self",)).select_related("product").get(pk=release.pk)


def release_lock(release_id: int) -> None:
    """Take the release's row lock for the rest of the transaction. Every change to a
    release's evidence takes it, so a decision never reads evidence half-changed."""
    Release.objects.select_for_update().filter(pk=release_id).values_list("pk").get()


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
    number strictly above the product's last. `state` may be `draft` or `candidate`.

    The release alone: its checklists (board.lifecycle) and the CI results that waited for
    it (integrations.inbox) are the callers' part."""
    version = version_validate((version or "").strip())
    number = build_number_parse(build)
    commit = commit_check(commit)
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
        transition(
            release, ReleaseState.CANDIDATE, actor=actor, actor_label=actor_label, action="release.promote"
        )
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
    commit = commit_check(commit)
    if number == existing.build_number and (not commit or same_commit(commit, existing.commit_sha)):
        return existing, "unchanged"
    return release_new_build(
        release=existing, build=number, commit=commit, actor_label=actor_label
    ), "new_build"


def may_promote(user: Any, release: Release) -> bool:
    """The release's owner and the product's PM/PO may make a draft a candidate."""
    if can(user, Capability.PROMOTE, release.product):
        return True
    return bool(getattr(user, "is_authenticated", False) and release.owner_id == user.pk)


def promotion_problems(release: Release, commit: str = "") -> list[RuleViolation]:
    """Why a draft cannot become a candidate yet (given `commit`, if any), each saying
    what to do. A candidate is one build at one commit: its gate results, sign-offs and
    decision are all for that commit."""
    problems = []
    given = (commit or "").strip()
    if not release.commit_sha and not given:
        problems.append(
            RuleViolation(
                "commit_missing",
                _(
                    "Build %(build)s has no commit yet. Give its commit, or let CI post the build "
                    "with its commit (POST /api/v1/releases): results, sign-offs and the decision "
                    "are for one commit."
                )
                % {"build": release.build_number},
                field="commit",
            )
        )
    elif given and release.commit_sha and not same_commit(given, release.commit_sha):
        problems.append(
            RuleViolation(
                "commit_differs",
                _(
                    "Build %(build)s is commit %(commit)s. Another commit is another build: post it "
                    "with a higher build number."
                )
                % {"build": release.build_number, "commit": release.commit_sha[:10]},
                field="commit",
            )
        )
    return problems


@transaction.atomic
def release_promote(
    *, release: Release, actor: Any = None, actor_label: str = "", commit: str = ""
) -> Release:
    """Draft → candidate: by its owner or a PM/PO (`actor=None`: a system, such as CI with
    its token, named by `actor_label`). A draft without a commit needs `commit`, which
    becomes its build's commit. The release's checklists are copied by board.lifecycle."""
    commit = commit_check(commit)
    release = release_lock_get(release)
    if actor is not None and not may_promote(actor, release):
        raise NotAllowed(
            "role_not_held", _("Only the release owner or a PM/PO can make a draft a release candidate.")
        )
    ensure_state(
        release,
        ReleaseState.DRAFT,
        _("Only a draft can become a release candidate; this release is “%(state)s”."),
    )
    problems = promotion_problems(release, commit)
    if problems:
        raise problems[0]
    if commit and not release.commit_sha:
        before = _snapshot(release)
        release.commit_sha = commit
        release.save(update_fields=["commit_sha"])
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="release.commit_set",
            obj=release,
            before=before,
            after=_snapshot(release),
            release_id=release.pk,
        )
        release_commit_set.send(sender=Release, release=release)
    transition(
        release, ReleaseState.CANDIDATE, actor=actor, actor_label=actor_label, action="release.promote"
    )
    return release


@transaction.atomic
def release_new_build(
    *, release: Release, build: Any, commit: str = "", actor: Any = None, actor_label: str = ""
) -> Release:
    """A new build of the same version: number above the product's last, new commit.
    Sign-offs given on the old build go stale; a No-Go release returns to candidate.
    The CI results that waited for its commit are the caller's to replay
    (`integrations.inbox.deliveries_replay_schedule`)."""
    number = build_number_parse(build)
    commit = commit_check(commit)
    release = release_lock_get(release)
    commit = commit or release.commit_sha  # a build without a commit keeps the commit it had
    if release.state not in NEW_BUILD_STATES:
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
        transition(release, ReleaseState.CANDIDATE, actor=actor, action="release.reopen")
    return release


@transaction.atomic
def release_halt(
    *,
    release: Release,
    actor: Any = None,
    actor_label: str = "",
    reason: str,
    facts: dict[str, Any] | None = None,
) -> Release:
    """Rolling out → halted, with why on record: `facts` say it as data (kind `breach`,
    `smoke` or `person`, docs/rollout.md), kept on the release while it stays halted and
    in the audit event; `reason` is the same in plain English for the trail."""
    release = release_lock_get(release)
    who = actor.get_username() if getattr(actor, "is_authenticated", False) else actor_label
    halt = {"kind": "person", "reason": reason, **(facts or {}), "by": who, "at": timezone.now().isoformat()}
    release.halt = halt
    release.save(update_fields=["halt"])
    transition(
        release,
        ReleaseState.HALTED,
        actor=actor,
        actor_label=actor_label,
        action="release.halt",
        note={"reason": reason, "halt": halt},
    )
    return release


def ensure_state(release: Release, state: str, message: str) -> None:
    """`message` says which state the step needs; %(state)s is the release's own."""
    if release.state != state:
        raise Conflict(
            "illegal_transition", message % {"state": ReleaseState(release.state).label}, state=release.state
        )


@transaction.atomic
def release_cancel(*, release: Release, actor: Any, reason: str) -> Release:
    """Cancel a release that has not started rolling out: the PM/PO or the release owner,
    with a reason (kept in the audit trail)."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("reason_required", _("Say why the release is cancelled."), field="reason")
    release = release_lock_get(release)
    if not (
        can(actor, Capability.CANCEL, release.product) or (actor is not None and release.owner_id == actor.pk)
    ):
        raise NotAllowed("role_not_held", _("Only a PM/PO or the release owner can cancel it."))
    return transition(
        release, ReleaseState.CANCELLED, actor=actor, action="release.cancel", note={"reason": reason}
    )
