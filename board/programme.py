"""The programme checks that records tick (docs/operations.md): a passed release or
rollback rehearsal ticks "Release rehearsal passed" or "Rollback rehearsal passed", a
delivered Send test ticks "Alert channel works". The domain apps only announce what
happened (their signals); joining that to the checklist is this layer's. Connected in
`BoardConfig.ready`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from checklists.evidence import programme_evidence_tick
from checklists.models import Evidence
from core.when import when_text
from notifications.signals import channel_test_delivered
from operations.models import Rehearsal, RehearsalKind, RehearsalOutcome
from operations.signals import rehearsal_recorded

REHEARSAL_EVIDENCE = {
    RehearsalKind.RELEASE: Evidence.RELEASE_REHEARSAL,
    RehearsalKind.ROLLBACK: Evidence.ROLLBACK_REHEARSAL,
}


def rehearsal_note(rehearsal: Rehearsal) -> str:
    """`release rehearsal 2026-11-30 (ios-app), 42 min, by qa`: the tick's note."""
    who = rehearsal.recorded_by.get_username() if rehearsal.recorded_by else "—"
    return (
        f"{rehearsal.kind} rehearsal {rehearsal.performed_on.isoformat()} ({rehearsal.product.slug}), "
        f"{rehearsal.minutes} min, by {who}"
    )


def on_rehearsal_recorded(sender: Any, *, rehearsal: Rehearsal, **kwargs: Any) -> None:
    """A passed rehearsal ticks its programme check, in the transaction that records it."""
    if rehearsal.outcome != RehearsalOutcome.PASSED or rehearsal.recorded_by is None:
        return
    programme_evidence_tick(
        evidence=REHEARSAL_EVIDENCE[RehearsalKind(rehearsal.kind)],
        by=rehearsal.recorded_by,
        note=rehearsal_note(rehearsal),
        product=rehearsal.product,
    )


def on_channel_test_delivered(
    sender: Any, *, channel: Any, by: Any = None, at: datetime | None = None, **kwargs: Any
) -> None:
    """A channel's Send test that was delivered ticks "alert channel works", with who sent
    it and when."""
    if by is None:
        return
    when = when_text(at or timezone.now())
    programme_evidence_tick(
        evidence=Evidence.ALERT_CHANNEL,
        by=by,
        note=f"test alert delivered to {channel.slug} at {when}, sent by {by.get_username()}",
    )


def connect() -> None:
    rehearsal_recorded.connect(on_rehearsal_recorded, dispatch_uid="board.programme.rehearsal")
    channel_test_delivered.connect(on_channel_test_delivered, dispatch_uid="board.programme.channel_test")
