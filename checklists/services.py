"""Checklist copies, ticks and defects. Atomic, audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.permissions import has_role
from audit.services import audit_record
from gonogo.errors import Conflict, NotAllowed, RuleViolation
from gonogo.validation import http_url
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
    }


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
        .select_related("checklist__release__product", "ticked_by")
        .get(pk=item.pk)
    )
    if locked.checklist.release_id:
        release_lock(locked.checklist.release_id)
    product = locked.checklist.release.product if locked.checklist.release else None
    if not has_role(actor, ("qa", locked.owner_role), product):
        raise NotAllowed("role_not_held", _("Only QA or the item's owner can tick it."))
    if expected_revision is not None and locked.revision != expected_revision:
        who = locked.ticked_by.get_username() if locked.ticked_by else "—"
        raise Conflict(
            "stale_tick",
            _("%(who)s changed this item to “%(state)s” first. Look at it again before changing it.")
            % {"who": who, "state": ItemState(locked.state).label},
            current_state=locked.state,
            current_by=who,
            current_revision=locked.revision,
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
def defect_reopen(*, defect: Defect, actor: Any) -> Defect:
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
        action="defect.reopen",
        obj=defect,
        before={"state": DefectState.RESOLVED},
        after={"state": DefectState.OPEN},
        release_id=defect.release_id,
    )
    live_notify(release_id=defect.release_id, change="defect")
    return defect
