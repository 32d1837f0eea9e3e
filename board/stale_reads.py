"""The reads behind sign-off staleness that the board's other reads do not cover."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from audit.models import AuditEvent
from releases.models import SignOff

from .staleness import NEWS_ACTIONS


def news_events(signoffs: dict[int, list[SignOff]]) -> dict[int, list[AuditEvent]]:
    """Per release, the audit events that may be bad news for its sign-offs (a defect
    reopened, a core scenario ticked failed): only those since its oldest sign-off, in one
    query on the indexed release id and time, whatever the length of the history (one
    query even with no sign-off, so the board's query count does not vary)."""
    now = timezone.now()
    since = {pk: min((s.signed_at for s in rows), default=now) for pk, rows in signoffs.items()}
    if not since:
        return {}
    mine = Q()
    for pk, at in since.items():
        mine |= Q(release_id=pk, at__gt=at)
    events: dict[int, list[AuditEvent]] = {pk: [] for pk in since}
    rows = AuditEvent.objects.filter(mine, action__in=NEWS_ACTIONS).only(
        "release_id", "action", "object_id", "at", "before", "after"
    )
    for event in rows.order_by("at", "id"):
        if event.release_id is not None:
            events[event.release_id].append(event)
    return events
