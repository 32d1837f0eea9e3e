"""Checklist copies, ticks and defects. Atomic, audited."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import has_role
from audit.services import audit_record
from gonogo.errors import Conflict, NotAllowed, RuleViolation
from gonogo.validation import ci_link, http_url
from live.services import live_notify
from releases.models import Release
from releases.services import release_lock

from .models import (
    Checklist,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    Defect,
    DefectState,
    ItemState,
    Severity,
)
from .selectors import programme_approver_roles


def _copy_template(template: ChecklistTemplate, *, release: Release | None) -> tuple[Checklist, int]:
    """Copy the template's sections and items; returns the checklist and its item count."""
    checklist = Checklist.objects.create(
        template=template,
        kind=template.kind,
        release=release,
        name=template.name,
        created_at=timezone.now(),
    )
    items = [
        ChecklistItem(
            checklist=checklist,
            template_item=item,
            section=section.title,
            section_position=section.position,
            title=item.title,
            instructions=item.instructions,
            core=item.core,
            owner_role=item.owner_role,
            position=item.position,
        )
        for section in template.sections.order_by("position", "id").prefetch_related("items")
        for item in section.items.all()
    ]
    ChecklistItem.objects.bulk_create(items)
    return checklist, len(items)


@transaction.atomic
def checklists_create_for_release(*, release: Release, actor: Any = None) -> list[Checklist]:
    """Snapshot every release template that applies to the product. Templates edited later
    do not change these copies. Safe to call twice."""
    templates = (
        ChecklistTemplate.objects.filter(kind=ChecklistKind.RELEASE)
        .filter(Q(products__isnull=True) | Q(products=release.product_id))
        .distinct()
    )
    created = []
    for template in templates:
        if Checklist.objects.filter(release=release, template=template).exists():
            continue
        checklist, count = _copy_template(template, release=release)
        audit_record(
            actor=actor,
            action="checklist.create",
            obj=checklist,
            after={"template": template.key, "items": count},
            release_id=release.pk,
        )
        created.append(checklist)
    return created


@transaction.atomic
def programme_checklist_ensure(*, template: ChecklistTemplate, actor: Any = None) -> Checklist:
    """The programme setup checklist: one copy, made once."""
    existing = Checklist.objects.filter(template=template, release__isnull=True).first()
    if existing:
        return existing
    checklist, _count = _copy_template(template, release=None)
    audit_record(actor=actor, action="checklist.create", obj=checklist, after={"template": template.key})
    return checklist


def _item_snapshot(item: ChecklistItem) -> dict[str, Any]:
    return {
        "state": item.state,
        "note": item.note,
        "evidence_url": item.evidence_url,
        "revision": item.revision,
        "ticked_by": item.ticked_by_id,
        "ticked_at": item.ticked_at.isoformat() if item.ticked_at else None,
    }


def _changed_meanwhile(item: ChecklistItem, message: str) -> Conflict:
    """The refusal when someone else changed the item: its current value and who set it."""
    who = item.ticked_by.get_username() if item.ticked_by else "—"
    return Conflict(
        "stale_tick",
        message % {"who": who, "state": ItemState(item.state).label},
        current_state=item.state,
        current_by=who,
        current_revision=item.revision,
    )


def _programme_refusal() -> str:
    return _(
        "Approving this check needs its role for every product the programme covers; a role "
        "for some of them is not enough."
    )


def _may_tick(actor: Any, item: ChecklistItem) -> bool:
    """QA or the item's owner role on release checklists; on the programme checklist only
    the role that approves the check, held for every product the programme covers."""
    release = item.checklist.release
    if release is None:
        return item.owner_role in programme_approver_roles(actor, item.checklist)
    return has_role(actor, ("qa", item.owner_role), release.product)


@transaction.atomic
def checklist_item_tick(
    *,
    item: ChecklistItem,
    state: str,
    actor: Any,
    note: str = "",
    evidence_url: str = "",
    expected_revision: int | None = None,
) -> ChecklistItem:
    """Set an item's outcome. With `expected_revision`, a tick made on a stale view is
    refused (Conflict) and reports the current value and who set it: never overwritten."""
    if state not in ItemState.values:
        raise RuleViolation("state_invalid", _("Choose passed, failed, blocked, n/a or open."), field="state")
    locked = (
        ChecklistItem.objects.select_for_update(of=("self",))
        .select_related("checklist__release__product")  # ticked_by read after the lock, not joined in it
        .get(pk=item.pk)
    )
    if locked.checklist.release_id:
        release_lock(locked.checklist.release_id)
    if not _may_tick(actor, locked):
        if locked.checklist.release_id is None:
            raise NotAllowed("role_not_held", _programme_refusal())
        raise NotAllowed("role_not_held", _("Only QA or the item's owner can tick it."))
    if expected_revision is not None and locked.revision != expected_revision:
        raise _changed_meanwhile(
            locked, _("%(who)s changed this item to “%(state)s” first. Look at it again before changing it.")
        )
    before = _item_snapshot(locked)
    locked.state = state
    locked.note = (note or "").strip()
    locked.evidence_url = http_url(evidence_url, field="evidence_url")
    locked.ticked_by = actor if state != ItemState.OPEN else None
    locked.ticked_at = timezone.now() if state != ItemState.OPEN else None
    locked.revision += 1
    locked.save(update_fields=["state", "note", "evidence_url", "ticked_by", "ticked_at", "revision"])
    audit_record(
        actor=actor,
        action="checklist_item.tick",
        obj=locked,
        before=before,
        after=_item_snapshot(locked),
        release_id=locked.checklist.release_id,
    )
    live_notify(release_id=locked.checklist.release_id, change="checklist")
    return locked


@transaction.atomic
def checklist_tick_undo(*, release: Release, actor: Any) -> ChecklistItem:
    """Take back the actor's last tick on this release's checklists: the item returns to
    what it was before, unless someone changed it since (Conflict, nothing overwritten)."""
    from audit.models import AuditEvent

    release_lock(release.pk)
    last = (
        AuditEvent.objects.filter(
            release_id=release.pk,
            actor=actor,
            action__in=("checklist_item.tick", "checklist_item.undo"),
        )
        .order_by("-at", "-id")
        .first()
    )
    if last is None or last.action == "checklist_item.undo" or not last.before:
        raise Conflict("nothing_to_undo", _("You have no tick to undo on this release."))
    item = (
        ChecklistItem.objects.select_for_update(of=("self",))
        .select_related("checklist__release__product")  # ticked_by read after the lock, not joined in it
        .filter(pk=int(last.object_id))
        .first()
    )
    if item is None:  # removed by an update from the template since
        raise Conflict("nothing_to_undo", _("The item you ticked last is no longer on the checklist."))
    if not _may_tick(actor, item):
        raise NotAllowed("role_not_held", _("Only QA or the item's owner can tick it."))
    if item.revision != (last.after or {}).get("revision"):
        raise _changed_meanwhile(
            item, _("%(who)s changed this item to “%(state)s” after your tick, so it is not undone.")
        )
    previous = last.before
    before = _item_snapshot(item)
    item.state = previous["state"]
    item.note = previous.get("note", "")
    item.evidence_url = previous.get("evidence_url", "")
    item.ticked_by_id = previous.get("ticked_by") if item.state != ItemState.OPEN else None
    at = previous.get("ticked_at")
    item.ticked_at = datetime.fromisoformat(at) if at and item.state != ItemState.OPEN else None
    if item.state != ItemState.OPEN and (item.ticked_by_id is None or item.ticked_at is None):
        item.ticked_by, item.ticked_at = actor, timezone.now()  # older records lack who and when
    item.revision += 1
    item.save(update_fields=["state", "note", "evidence_url", "ticked_by", "ticked_at", "revision"])
    audit_record(
        actor=actor,
        action="checklist_item.undo",
        obj=item,
        before=before,
        after=_item_snapshot(item),
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="checklist")
    return item


DEFECT_ROLES = ("qa", "mobile_lead", "backend_lead")


def _ensure_defect_role(actor: Any, release: Release) -> None:
    if actor is None:
        return  # a system (CI, a tracker) reporting through an authenticated API
    if not has_role(actor, DEFECT_ROLES, release.product):
        raise NotAllowed("role_not_held", _("Only QA or a lead can record or resolve defects."))


@transaction.atomic
def defect_report(
    *,
    release: Release,
    title: str,
    severity: str,
    actor: Any = None,
    actor_label: str = "",
    tracker_url: str = "",
    checklist_item: ChecklistItem | None = None,
) -> Defect:
    """Open a defect (QA or a lead; `actor=None` for a system such as CI, named by
    `actor_label`). An open critical defect blocks the verdict."""
    _ensure_defect_role(actor, release)
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
    live_notify(release_id=release.pk, change="defect")
    return defect


@transaction.atomic
def defect_resolve(*, defect: Defect, actor: Any, actor_label: str = "") -> Defect:
    release_lock(defect.release_id)
    defect = (
        Defect.objects.select_for_update(of=("self",)).select_related("release__product").get(pk=defect.pk)
    )
    _ensure_defect_role(actor, defect.release)
    if defect.state == DefectState.RESOLVED:
        raise Conflict("already_resolved", _("This defect is already resolved."))
    defect.state = DefectState.RESOLVED
    defect.resolved_by = actor if getattr(actor, "is_authenticated", False) else None
    defect.resolved_at = timezone.now()
    defect.save(update_fields=["state", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="defect.resolve",
        obj=defect,
        before={"state": DefectState.OPEN},
        after={"state": DefectState.RESOLVED},
        release_id=defect.release_id,
    )
    live_notify(release_id=defect.release_id, change="defect")
    return defect


@transaction.atomic
def defect_reopen(*, defect: Defect, actor: Any, actor_label: str = "") -> Defect:
    release_lock(defect.release_id)
    defect = (
        Defect.objects.select_for_update(of=("self",)).select_related("release__product").get(pk=defect.pk)
    )
    _ensure_defect_role(actor, defect.release)
    if defect.state == DefectState.OPEN:
        raise Conflict("already_open", _("This defect is already open."))
    defect.state = DefectState.OPEN
    defect.resolved_by = None
    defect.resolved_at = None
    defect.save(update_fields=["state", "resolved_by", "resolved_at"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="defect.reopen",
        obj=defect,
        before={"state": DefectState.RESOLVED},
        after={"state": DefectState.OPEN},
        release_id=defect.release_id,
    )
    live_notify(release_id=defect.release_id, change="defect")
    return defect


@transaction.atomic
def checklist_update_from_template(*, checklist: Checklist, actor: Any) -> list[Any]:
    """Bring a release's checklist in line with its template, as
    `checklist_template_changes` showed: add new items, update wording and flags, delete
    removed items that were never ticked. Outcomes and evidence are never touched. QA or
    the PM/PO."""
    from .selectors import checklist_template_changes

    release = checklist.release
    if release is None or not has_role(actor, ("qa", "pm"), release.product):
        raise NotAllowed("role_not_held", _("Only QA or the PM/PO can update a checklist from its template."))
    release_lock(release.pk)
    changes = checklist_template_changes(checklist)
    for change in changes:
        if change.kind == "added" and change.values is not None:
            ChecklistItem.objects.create(
                checklist=checklist, template_item=change.template_item, **change.values
            )
        elif change.kind == "changed" and change.item is not None and change.values is not None:
            for name, value in change.values.items():
                setattr(change.item, name, value)
            change.item.template_item = change.template_item
            change.item.save()
        elif change.kind == "removed" and change.item is not None:
            change.item.delete()
    audit_record(
        actor=actor,
        action="checklist.update_from_template",
        obj=checklist,
        after={
            kind: [c.title for c in changes if c.kind == kind]
            for kind in ("added", "changed", "removed", "kept")
        },
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="checklist")
    return changes


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
            _(
                "This defect was reported through %(source)s; only that tracker, or QA or a lead in "
                "the app, can change it."
            )
            % {"source": existing.reported_via},
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
) -> tuple[Defect, str]:
    """A defect reported by CI or a tracker (no person). The tracker link identifies it:
    the same link again changes nothing while the state is the same, `resolved` resolves
    it, `open` reopens it. Returns the defect and `created`, `updated`, `unchanged`,
    `resolved` or `reopened`.

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
        live_notify(release_id=release.pk, change="defect")
        if existing.state == state:
            return existing, "updated"
    if existing.state == state:
        return existing, "unchanged"
    if state == DefectState.RESOLVED:
        return defect_resolve(defect=existing, actor=None, actor_label=actor_label), "resolved"
    return defect_reopen(defect=existing, actor=None, actor_label=actor_label), "reopened"
