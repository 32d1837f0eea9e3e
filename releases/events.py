"""What happened to a release, told to whoever listens (alerts: `notifications`).

A domain app says `event_emit("rollout.halted", release=…, data={…})` inside the
transaction that made it happen; listeners (connected in their AppConfig.ready) store
what they will do with it in the same transaction. The emitter knows nothing of them.
The event names are CONTRACT §6's; `rollout.resumed`, `flag.kill_failed`, `store.failed`
and `store.drift` are ours (docs/alerts.md).
"""

from __future__ import annotations

from typing import Any

from django.dispatch import Signal

from .models import Product, Release

EVENTS = (
    "decision.go",
    "decision.no_go",
    "gate.failed",
    "defect.critical",
    "waiver.requested",
    "waiver.expiring",
    "rollout.started",
    "rollout.advanced",
    "rollout.halted",
    "rollout.resumed",
    "health.breach",
    "rollout.completed",
    "rollback.recorded",
    "flag.killed",
    "flag.kill_failed",
    "store.failed",
    "store.drift",
    "action_item.overdue",
    "channel.test",
)

# send(sender=<event name>, product=Product | None, release=Release | None, data=dict, actor=User | None)
release_event = Signal()

# send(sender=Release, release=Release): a release took the commit it lacked (a draft
# promoted with its commit). CI results that waited for that commit apply now: the inbox
# (integrations) listens, whichever interface promoted it.
release_commit_set = Signal()


def event_emit(
    event: str,
    *,
    release: Release | None = None,
    product: Product | None = None,
    data: dict[str, Any] | None = None,
    actor: Any = None,
) -> None:
    """Tell the listeners that `event` happened (to `release`, or to `product`)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    release_event.send(
        sender=event,
        release=release,
        product=product or (release.product if release is not None else None),
        data=dict(data or {}),
        actor=actor,
    )
