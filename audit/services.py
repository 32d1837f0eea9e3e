"""Writing the audit trail. Called by every service inside its own transaction."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.utils import timezone

from core.panel_cache import versions_bump_on_commit

from .models import AuditEvent


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    release_id: int | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Append one event. Must run inside the caller's transaction (it refuses otherwise),
    so the change and its record commit or roll back together."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must be called inside transaction.atomic()")
    user = actor if getattr(actor, "is_authenticated", False) else None
    label = actor_label or (user.get_username() if user is not None else "system")
    versions_bump_on_commit({release_id})  # what boards show from it goes stale on commit
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=user,
        actor_label=label[:150],
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:255],
        release_id=release_id,
        before=before,
        after=after,
    )


def audit_record_many(entries: list[dict[str, Any]]) -> list[AuditEvent]:
    """Append several events at once (a batch of CI results): each entry takes the
    arguments of `audit_record`. Same rule: inside the caller's transaction."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record_many must be called inside transaction.atomic()")
    now = timezone.now()
    events = []
    for entry in entries:
        actor = entry.get("actor")
        user = actor if getattr(actor, "is_authenticated", False) else None
        obj = entry["obj"]
        label = entry.get("actor_label") or (user.get_username() if user is not None else "system")
        events.append(
            AuditEvent(
                at=now,
                actor=user,
                actor_label=label[:150],
                action=entry["action"],
                object_type=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:255],
                release_id=entry.get("release_id"),
                before=entry.get("before"),
                after=entry.get("after"),
            )
        )
    if events:
        versions_bump_on_commit({event.release_id for event in events})
    return AuditEvent.objects.bulk_create(events)
