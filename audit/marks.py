"""Announce each row once, with its audit event as the mark that it was: the beat tasks
that tell people a waiver is about to expire or an action item is overdue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.db.models import CharField, Exists, Model, OuterRef, QuerySet
from django.db.models.functions import Cast

from .models import AuditEvent
from .services import audit_record


def announce_once(
    rows: QuerySet[Any], *, action: str, announce: Callable[[Any], dict[str, Any] | None]
) -> list[int]:
    """For each row of `rows` with no audit event `action` yet, in a transaction of its
    own: lock it (a row another worker holds is left to it), look again, and call
    `announce(row)`, which tells whoever it tells and returns the event's `after` (None:
    not this one after all); then record the event `action` by "system", the mark. Rows
    are read again through `rows`, so they are announced only while it still holds.
    Returns the primary keys announced."""
    model: type[Model] = rows.model
    marked = AuditEvent.objects.filter(
        action=action, object_type=model._meta.label_lower, object_id=Cast(OuterRef("pk"), CharField())
    )
    unmarked = rows.exclude(Exists(marked))
    announced = []
    for pk in unmarked.values_list("pk", flat=True):
        with transaction.atomic():
            row = unmarked.select_for_update(skip_locked=True, of=("self",)).filter(pk=pk).first()
            if row is None:
                continue
            after = announce(row)
            if after is None:
                continue
            audit_record(
                actor=None,
                actor_label="system",
                action=action,
                obj=row,
                after=after,
                release_id=getattr(row, "release_id", None),
            )
            announced.append(pk)
    return announced
