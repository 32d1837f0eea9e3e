"""Checklists: copied from their templates, ticked (and a tick taken back), and brought up
to date with a changed template. Atomic, audited. Defects are checklists/defects.py."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.models import AuditEvent
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from core.korean import particles
from core.status import status_word
from core.validation import http_url
from live.services import live_notify
from releases.lifecycle import release_lock
from releases.models import Release

from .models import (
    Checklist,
    ChecklistItem,
    ChecklistKind,
    ChecklistTemplate,
    Evidence,
    ItemState,
)
from .selectors import programme_approver_roles

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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
            evidence=item.evidence,
        )
        for section in template.sections.order_by("position", "id").prefetch_related("items")
        for item in section.items.all()
    ]
    ChecklistItem.objects.bulk_create(items)
    return checklist, len(items)


@transaction.atomic
def checklists_create_for_release(*, release: Release, actor: User | None = None) -> list[Checklist]:
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
def programme_checklist_ensure(*, template: ChecklistTemplate, actor: User | None = None) -> Checklist:
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
        particles(message % {"who": who, "state": status_word(item.state)}),
        current_state=item.state,
        current_by=who,
        current_revision=item.revision,
    )


def _programme_refusal() -> str:
    return _(
        "Approving this check needs its role for every product the programme covers; a role "
        "for some of them is not enough."
    )


def _may_tick(actor: User | None, item: ChecklistItem) -> bool:
    """QA or the item's owner role on release checklists; on the programme checklist only
    the role that approves the check, held for every product the programme covers."""
    release = item.checklist.release
    if release is None:
        return item.owner_role in programme_approver_roles(actor, item.checklist)
    return can(actor, Capability.TICK_ANY_ITEM, release.product) or can(
        actor, Capability.TICK_OWN_ITEM, release.product, role=item.owner_role
    )


@transaction.atomic
def checklist_item_tick(
    *,
    item: ChecklistItem,
    state: str,
    actor: User | None,
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
    if locked.evidence:
        raise RuleViolation(
            "ticked_by_evidence",
            _("“%(item)s” is %(how)s, not by hand.")
            % {"item": _(locked.title), "how": Evidence(locked.evidence).label},
            field="state",
        )
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
def checklist_tick_undo(*, release: Release, actor: User | None) -> ChecklistItem:
    """Take back the actor's last tick on this release's checklists: the item returns to
    what it was before, unless someone changed it since (Conflict, nothing overwritten)."""
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


@transaction.atomic
def checklist_update_from_template(*, checklist: Checklist, actor: User | None) -> list[Any]:
    """Bring a release's checklist in line with its template, as
    `checklist_template_changes` showed: add new items, update wording and flags, delete
    removed items that were never ticked. Outcomes and evidence are never touched. QA or
    the PM/PO."""
    from .selectors import checklist_template_changes

    release = checklist.release
    if release is None or not can(actor, Capability.UPDATE_CHECKLIST_FROM_TEMPLATE, release.product):
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
