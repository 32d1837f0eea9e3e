"""Defects: reported by QA, a lead or a tracker, resolved and reopened, and kept in step
with a bug tracker (`defect_sync`). Atomic and audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from core.korean import particles
from core.validation import ci_link, http_url
from live.services import live_notify
from releases.events import event_emit
from releases.lifecycle import release_lock
from releases.models import Release

from .models import (
    ChecklistItem,
    Defect,
    DefectState,
    Severity,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _ensure_defect_role(actor: User | None, release: Release, capability: Capability) -> None:
    if actor is None:
        return  # a system (CI, a tracker) reporting through an authenticated API
    if not can(actor, capability, release.product):
        raise NotAllowed("role_not_held", _("Only QA or a lead can record or resolve defects."))


@transaction.atomic
def defect_report(
    *,
    release: Release,
    title: str,
    severity: str,
    actor: User | None = None,
    actor_label: str = "",
    tracker_url: str = "",
    checklist_item: ChecklistItem | None = None,
) -> Defect:
    """Open a defect (QA or a lead; `actor=None` for a system such as CI, named by
    `actor_label`). An open critical defect blocks the verdict."""
    _ensure_defect_role(actor, release, Capability.REPORT_DEFECT)
    if not (title or "").strip():
        raise RuleViolation("field_required", _("A defect needs a title."), field="title")
    if severity not in Severity.values:
        raise RuleViolation(
            "severity_invalid", _("Severity must be critical, major or minor."), field="severity"
        )
    release_lock(release.pk)
    defect = Defect.objects.create(
        release=release,
        checklist_item=checklist_item,
        title=title.strip()[:255],
        severity=severity,
        tracker_url=http_url(tracker_url, field="tracker_url"),
        reported_by=actor if getattr(actor, "is_authenticated", False) else None,
        reported_via="" if getattr(actor, "is_authenticated", False) else actor_label[:150],
        reported_at=timezone.now(),
    )
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="defect.report",
        obj=defect,
        after={"title": defect.title, "severity": severity},
        release_id=release.pk,
    )
    if severity == Severity.CRITICAL:
        _critical_announce(defect, actor, actor_label)
    live_notify(release_id=release.pk, change="defect")
    return defect


def _critical_announce(defect: Defect, actor: User | None, actor_label: str) -> None:
    """An open critical defect blocks Go: the event `defect.critical` says so, in the
    transaction that reported, reopened or raised it."""
    who = actor.get_username() if getattr(actor, "is_authenticated", False) and actor else actor_label
    event_emit(
        "defect.critical",
        release=defect.release,
        actor=actor,
        data={"title": defect.title, "url": defect.tracker_url, "by": who},
    )


RESOLUTION_MAX = 2000


@transaction.atomic
def defect_resolve(
    *, defect: Defect, actor: User | None, actor_label: str = "", resolution: str = ""
) -> Defect:
    """Resolve a defect (QA or a lead; `actor=None`: a tracker, named by `actor_label`),
    keeping how (`resolution`: required for a critical defect, which blocks Go), who and
    when on the defect and in the audit trail."""
    resolution = (resolution or "").strip()
    release_lock(defect.release_id)
    defect = (
        Defect.objects.select_for_update(of=("self",)).select_related("release__product").get(pk=defect.pk)
    )
    _ensure_defect_role(actor, defect.release, Capability.RESOLVE_DEFECT)
    if defect.state == DefectState.RESOLVED:
        raise Conflict("already_resolved", _("This defect is already resolved."))
    if defect.severity == Severity.CRITICAL and not resolution:
        raise RuleViolation(
            "resolution_required",
            _(
                "Say how this critical defect was resolved (fixed in which build, or why it is "
                "not a defect): it blocks Go until it is resolved."
            ),
            field="resolution",
        )
    if len(resolution) > RESOLUTION_MAX:
        raise RuleViolation(
            "resolution_too_long",
            _("Keep the resolution under %(max)s characters.") % {"max": RESOLUTION_MAX},
            field="resolution",
        )
    person = getattr(actor, "is_authenticated", False)
    defect.state = DefectState.RESOLVED
    defect.resolved_by = actor if person else None
    defect.resolved_via = "" if person else actor_label[:150]
    defect.resolved_at = timezone.now()
    defect.resolution = resolution
    defect.save(update_fields=["state", "resolved_by", "resolved_via", "resolved_at", "resolution"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="defect.resolve",
        obj=defect,
        before={"state": DefectState.OPEN},
        after={"state": DefectState.RESOLVED, "resolution": resolution},
        release_id=defect.release_id,
    )
    live_notify(release_id=defect.release_id, change="defect")
    return defect


@transaction.atomic
def defect_reopen(*, defect: Defect, actor: User | None, actor_label: str = "") -> Defect:
    release_lock(defect.release_id)
    defect = (
        Defect.objects.select_for_update(of=("self",)).select_related("release__product").get(pk=defect.pk)
    )
    _ensure_defect_role(actor, defect.release, Capability.RESOLVE_DEFECT)
    if defect.state == DefectState.OPEN:
        raise Conflict("already_open", _("This defect is already open."))
    before = {"state": DefectState.RESOLVED, "resolution": defect.resolution}
    defect.state = DefectState.OPEN
    defect.resolved_by = None
    defect.resolved_via = ""
    defect.resolved_at = None
    defect.resolution = ""
    defect.save(update_fields=["state", "resolved_by", "resolved_via", "resolved_at", "resolution"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="defect.reopen",
        obj=defect,
        before=before,
        after={"state": DefectState.OPEN},
        release_id=defect.release_id,
    )
    if defect.severity == Severity.CRITICAL:
        _critical_announce(defect, actor, actor_label)
    live_notify(release_id=defect.release_id, change="defect")
    return defect


SEVERITY_RANK = {Severity.MINOR: 0, Severity.MAJOR: 1, Severity.CRITICAL: 2}


def _ensure_tracker_may_change(
    existing: Defect, actor_label: str, *, title: str, severity: str, state: str
) -> None:
    """Refuse a token's change of a defect it may not change (see `defect_sync`); asking
    for what is already there is never refused."""
    changes = (
        state != existing.state
        or (severity in Severity.values and severity != existing.severity)
        or (bool(title.strip()) and title.strip()[:255] != existing.title)
    )
    if not changes:
        return
    if existing.reported_by_id is not None:
        raise NotAllowed(
            "defect_recorded_by_person",
            _(
                "This defect was recorded by %(who)s in the app; only QA or a lead can change it, "
                "on the release's checklist or board."
            )
            % {"who": existing.reported_by.get_username() if existing.reported_by else _("a person")},
        )
    if existing.reported_via and existing.reported_via != actor_label:
        raise NotAllowed(
            "defect_reported_by_another",
            particles(
                _(
                    "This defect was reported through %(source)s; only that tracker, or QA or a lead "
                    "in the app, can change it."
                )
                % {"source": existing.reported_via}
            ),
        )
    if (
        severity in Severity.values
        and SEVERITY_RANK[Severity(severity)] < SEVERITY_RANK[Severity(existing.severity)]
    ):
        raise NotAllowed(
            "severity_lowering_refused",
            _(
                "A token may not lower a defect's severity (%(before)s → %(after)s); QA or a lead "
                "can change it in the app."
            )
            % {"before": existing.severity, "after": severity},
        )


@transaction.atomic
def defect_sync(
    *,
    release: Release,
    title: str,
    severity: str,
    tracker_url: str = "",
    state: str = "open",
    actor_label: str,
    resolution: str = "",
) -> tuple[Defect, str]:
    """A defect reported by CI or a tracker (no person). The tracker link identifies it:
    the same link again changes nothing while the state is the same, `resolved` resolves
    it, `open` reopens it. Returns the defect and `created`, `updated`, `unchanged`,
    `resolved` or `reopened`. Resolving a critical defect needs its `resolution`, as in
    the app.

    A token can never clear what people found: a defect that a person recorded is changed
    only by a person with the role (in the app), one that a tracker reported only by that
    same tracker, and a severity is never lowered this way (raising it is fine)."""
    if state not in DefectState.values:
        raise RuleViolation("state_invalid", _("State must be open or resolved."), field="state")
    link = ci_link(tracker_url, field="tracker_url")  # the same check as the API schema
    release_lock(release.pk)
    existing = (
        Defect.objects.select_for_update().filter(release=release, tracker_url=link).order_by("-id").first()
        if link
        else None
    )
    if existing is None:
        if state == DefectState.RESOLVED:
            raise RuleViolation(
                "defect_unknown",
                _("No defect with this tracker link on this release to resolve."),
                field="tracker_url",
            )
        created = defect_report(release=release, title=title, severity=severity, actor_label=actor_label)
        Defect.objects.filter(pk=created.pk).update(tracker_url=link)
        created.tracker_url = link
        return created, "created"
    _ensure_tracker_may_change(existing, actor_label, title=title, severity=severity, state=state)
    if severity in Severity.values and (severity, title.strip()[:255]) != (existing.severity, existing.title):
        before = {"title": existing.title, "severity": existing.severity}
        existing.severity, existing.title = severity, title.strip()[:255] or existing.title
        existing.save(update_fields=["severity", "title"])
        audit_record(
            actor=None,
            actor_label=actor_label,
            action="defect.update",
            obj=existing,
            before=before,
            after={"title": existing.title, "severity": existing.severity},
            release_id=release.pk,
        )
        raised = before["severity"] != Severity.CRITICAL and existing.severity == Severity.CRITICAL
        if raised and existing.state == DefectState.OPEN and state == DefectState.OPEN:
            _critical_announce(existing, None, actor_label)
        live_notify(release_id=release.pk, change="defect")
        if existing.state == state:
            return existing, "updated"
    if existing.state == state:
        return existing, "unchanged"
    if state == DefectState.RESOLVED:
        return defect_resolve(
            defect=existing, actor=None, actor_label=actor_label, resolution=resolution
        ), "resolved"
    return defect_reopen(defect=existing, actor=None, actor_label=actor_label), "reopened"
