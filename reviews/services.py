"""Action items and the weekly review's record. Atomic, audited."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.marks import announce_once
from audit.services import audit_record
from core.errors import Conflict, NotAllowed, RuleViolation
from gates.models import GateResult
from live.services import live_notify
from releases.events import event_emit

from .models import ActionItem, ActionKind, ActionState, WeeklyReview

if TYPE_CHECKING:
    from django.contrib.auth.models import User

QUESTIONS = ("q1", "q2", "q3", "q4")
# The meeting's time box per question, in minutes: fifteen in all.
TIME_BOXES = {"q1": 5, "q2": 4, "q3": 2, "q4": 4}
UNCHANGED: Any = object()  # a field the update leaves as it is


def _snapshot(item: ActionItem) -> dict[str, Any]:
    return {
        "title": item.title,
        "kind": item.kind,
        "owner": item.owner.get_username() if item.owner else None,
        "due_on": item.due_on.isoformat() if item.due_on else None,
        "state": item.state,
    }


def _owner(username: str) -> User | None:
    if not username:
        return None
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise RuleViolation("owner_unknown", _("No user “%(name)s”.") % {"name": username}, field="owner")
    return user


@transaction.atomic
def action_item_create(
    *,
    actor: User,
    title: str,
    kind: str = ActionKind.FIX,
    owner: str = "",
    due_on: date | None = None,
    failure: GateResult | None = None,
) -> ActionItem:
    """A fix (Q2) or prevention change (Q4); from a failure it names the gate, product and
    release it came from, and its title defaults to the failure. A failure gets one action
    item: asked again (a second click, a second attendee), the one it has is returned."""
    if failure is not None:
        existing = action_item_for_failure(failure)
        if existing is not None:
            return existing
    if kind not in ActionKind.values:
        raise RuleViolation("kind_invalid", _("Kind must be fix or prevention."), field="kind")
    title = (title or "").strip()
    if not title and failure is not None:
        title = _("Fix “%(gate)s” on %(release)s") % {"gate": failure.gate.name, "release": failure.release}
    if not title:
        raise RuleViolation("field_required", _("Say what is to be done."), field="title")
    fields = {
        "kind": kind,
        "title": title[:255],
        "owner": _owner(owner),
        "due_on": due_on,
        "product": failure.release.product if failure else None,
        "gate": failure.gate if failure else None,
        "failure": failure,
        "created_by": actor,
        "created_at": timezone.now(),
    }
    try:
        with transaction.atomic():  # a savepoint: another attendee may have just made it
            item = ActionItem.objects.create(**fields)
    except IntegrityError:
        existing = action_item_for_failure(failure) if failure is not None else None
        if existing is None:
            raise
        return existing
    live_notify(release_id=None, change="action_item")
    audit_record(
        actor=actor,
        action="action_item.create",
        obj=item,
        after=_snapshot(item),
        release_id=failure.release_id if failure else None,
    )
    return item


def action_item_for_failure(failure: GateResult) -> ActionItem | None:
    """The action item made from `failure`, if any (there is at most one)."""
    return ActionItem.objects.filter(failure=failure).select_related("owner", "product", "gate").first()


@transaction.atomic
def action_item_update(
    *,
    item: ActionItem,
    actor: User | None,
    owner: str | None = None,
    due_on: date | None = None,
    state: str | None = None,
) -> ActionItem:
    """Assign, reschedule, mark done or reopen. Done is marked by the owner, its creator or
    a PM/PO; who and when are kept."""
    item = (
        ActionItem.objects.select_for_update(of=("self",)).select_related("owner", "product").get(pk=item.pk)
    )
    before = _snapshot(item)
    if owner is not None:
        item.owner = _owner(owner)
    if due_on is not UNCHANGED:
        item.due_on = due_on  # None clears it
    if state is not None and state != item.state:
        if state not in ActionState.values:
            raise RuleViolation("state_invalid", _("State must be open or done."), field="state")
        mine = actor is not None and actor.pk in (item.owner_id, item.created_by_id)
        allowed = mine or can(actor, Capability.CLOSE_ACTION_ITEM, item.product)
        if not allowed:
            raise NotAllowed("not_owner", _("Only the owner, whoever created it or a PM/PO can close it."))
        item.state = state
        item.done_by = actor if state == ActionState.DONE else None
        item.done_at = timezone.now() if state == ActionState.DONE else None
    item.save()
    audit_record(actor=actor, action="action_item.update", obj=item, before=before, after=_snapshot(item))
    live_notify(release_id=None, change="action_item")
    return item


def action_items_overdue_announce(*, today: date | None = None) -> list[int]:
    """Announce each open action item past its due date once: the event
    `action_item.overdue`, with the audit event `action_item.overdue` as the mark."""
    today = today or timezone.localdate()

    def announce(item: ActionItem) -> dict[str, Any] | None:
        if item.due_on is None:
            return None
        due = item.due_on.isoformat()
        owner = item.owner.get_username() if item.owner else ""
        event_emit(
            "action_item.overdue",
            product=item.product,
            data={"title": item.title, "owner": owner, "due": due},
        )
        return {"due_on": due}

    overdue = ActionItem.objects.filter(state=ActionState.OPEN, due_on__lt=today).select_related(
        "owner", "product"
    )
    return announce_once(overdue, action="action_item.overdue", announce=announce)


def week_offset(year: int, week: int) -> int:
    """How many weeks `year`-W`week` lies after this week (negative: before)."""
    from .selectors import Week

    return (date.fromisocalendar(year, week, 1) - Week.of().first_day).days // 7


def weekly_review_editable_by(*, review: WeeklyReview | None, actor: User | None) -> bool:
    """Who may write a review's notes, end it or run its timer: a PM/PO (of any product),
    or one of its recorded attendees who holds a role. A review not yet begun is begun by
    a PM/PO. Being an administrator is not enough (roles act, not the admin flag)."""
    if can(actor, Capability.EDIT_REVIEW):
        return True
    return (
        review is not None
        and can(actor, Capability.EDIT_ATTENDED_REVIEW)
        and actor.get_username() in review.attendees
    )


def weekly_review_timer_allowed(*, review: WeeklyReview | None, actor: User | None) -> bool:
    """Who may start or restart the shared 15 minutes (every attendee's screen follows it):
    a PM/PO, or the review's facilitator (whoever began it) while holding a role. Other
    attendees write notes but do not reset everyone's clock."""
    if can(actor, Capability.EDIT_REVIEW):
        return True
    return (
        review is not None
        and can(actor, Capability.EDIT_ATTENDED_REVIEW)
        and actor.pk == review.started_by_id
    )


def _ensure_editable(review: WeeklyReview, actor: User | None, *, created: bool) -> None:
    if not weekly_review_editable_by(review=None if created else review, actor=actor):
        raise NotAllowed(
            "review_not_yours",
            _("Only the PM/PO and the review's attendees who hold a role may change or end it."),
        )


@transaction.atomic
def weekly_review_save(
    *,
    year: int,
    week: int,
    actor: User,
    attendees: list[str],
    notes: dict[str, str],
    end: bool = False,
) -> WeeklyReview:
    """Keep who came and the notes per question; `end` closes the review (its minutes
    stay as they are). Past weeks may be written up late; weeks after next, not yet. Only
    those `weekly_review_editable_by` allows (NotAllowed otherwise)."""
    if week_offset(year, week) > 1:
        raise RuleViolation(
            "review_future", _("That week has not come yet: keep notes for it once it has begun.")
        )
    review, created = WeeklyReview.objects.select_for_update().get_or_create(
        year=year, week=week, defaults={"started_by": actor, "started_at": timezone.now()}
    )
    _ensure_editable(review, actor, created=created)
    if review.ended_at is not None:
        raise Conflict("review_ended", _("This review has ended; its minutes no longer change."))
    review.attendees = sorted({a.strip() for a in attendees if a.strip()})
    review.notes = {q: (notes.get(q) or "").strip() for q in QUESTIONS}
    if end:
        review.ended_at = timezone.now()
    review.save()
    audit_record(
        actor=actor,
        action="weekly_review.end" if end else ("weekly_review.start" if created else "weekly_review.update"),
        obj=review,
        after={"attendees": review.attendees, "ended": bool(review.ended_at)},
    )
    return review


@transaction.atomic
def weekly_review_timer_start(*, year: int, week: int, actor: User) -> WeeklyReview:
    """Start (or restart) the meeting's 15 minutes: every screen showing the review counts
    from this moment. Only for this week's review, or the week before or after; only by
    those `weekly_review_timer_allowed` allows; not once the review has ended."""
    if abs(week_offset(year, week)) > 1:
        raise RuleViolation(
            "timer_week", _("The timer runs for this week's review only (or the week before or after).")
        )
    review, created = WeeklyReview.objects.select_for_update().get_or_create(
        year=year, week=week, defaults={"started_by": actor, "started_at": timezone.now()}
    )
    if not weekly_review_timer_allowed(review=None if created else review, actor=actor):
        raise NotAllowed(
            "timer_not_yours",
            _("Only a PM/PO or the review's facilitator may start or restart the 15 minutes."),
        )
    if review.ended_at is not None:
        raise Conflict("review_ended", _("This review has ended; its timer no longer runs."))
    review.timer_started_at = timezone.now()
    review.save(update_fields=["timer_started_at"])
    audit_record(
        actor=actor, action="weekly_review.timer_start", obj=review, after={"at": review.timer_started_at}
    )
    return review
