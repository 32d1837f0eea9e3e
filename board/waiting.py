"""What is waiting for one person: the dashboard's first section, "Waiting for you".

`waiting_for` reads each release's pending work off the boards the dashboard already
built (`board.dashboard.release_boards`) and the viewer's roles
(`accounts.capabilities`), and adds one query for the viewer's action items: a fixed
number of queries whatever the number of releases. Each entry says what, for which
release, since when, and links to the place where it is done (docs/board.md, "Waiting
for you").

When is a sign-off waiting? For a release before the call (a candidate, or a Go that no
longer stands), each sign-off role the viewer holds and the product asks for, whose
sign-off is missing or stale, once that role's evidence is in: no blocking pre-release
gate the role owns is still running, pending or without a result. A gate that failed is
evidence too (the vote may be No-Go, or a waiver is asked). A release called No-Go waits
for a new build, not for sign-offs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.capabilities import Capability, acting_roles, can
from gates.models import Phase, WaiverState
from operations.health import StageHealth, soak_until
from operations.rollout import advance_blocker, halted_since, rollout_next
from releases.models import DECIDABLE_STATES, Release, ReleaseState

from .links import board_url
from .rollout import standing_of
from .selectors import ReleaseBoard

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

# A gate whose result is not in yet: its owner's sign-off waits for it.
NOT_IN = frozenset({"none", "running", "pending"})
# Before the call: where sign-offs and the call are waited for (a release called No-Go
# waits for a new build).
BEFORE_THE_CALL = DECIDABLE_STATES
ACTION_OPEN = "open"  # reviews.models.ActionState.OPEN (reviews is not importable here)


@dataclass(frozen=True)
class Waiting:
    """One thing waiting for the viewer. `kind` names it (`waiver`, `signoff`, `core`,
    `call`, `start`, `advance`, `halt`, `action`); `key` is its DOM id on the dashboard."""

    kind: str
    key: str
    what: str
    href: str
    since: datetime
    release: Release | None = None
    detail: str = ""
    due: date | None = None  # action items: the due date (`since` is its start)

    @property
    def overdue(self) -> bool:
        return self.due is not None and self.due < timezone.localdate()


def waiting_for(
    user: AbstractBaseUser | AnonymousUser,
    boards: Sequence[ReleaseBoard],
    *,
    health: Mapping[int, StageHealth] | None = None,
    product_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Waiting]:
    """Everything waiting for `user` on `boards` (releases they may view), and their action
    items due today or overdue; halts first, then the longest waiting first.

    `product_ids` are the products whose action items the viewer may see (default: those
    of `boards`). `health` gives each rolling-out release's stage health (the dashboard reads it): the
    stage may advance when `operations.rollout.advance_blocker` says so. Without it, when
    its soak is over and its smoke gates passed."""
    if not user.is_authenticated:
        return []
    now = now or timezone.now()
    health = health or {}
    entries: list[Waiting] = []
    for board in boards:
        entries += _waivers(user, board)
        entries += _signoffs(user, board)
        entries += _core_items(user, board)
        entries += _call(user, board)
        entries += _rollout(user, board, health.get(board.release.pk), now)
    if product_ids is None:
        product_ids = {b.release.product_id for b in boards}
    entries += _action_items(user, product_ids)
    return sorted(entries, key=lambda e: (e.kind != "halt", e.since, e.key))


def _waivers(user: AbstractBaseUser | AnonymousUser, board: ReleaseBoard) -> list[Waiting]:
    """Requests another PM/PO of the product may approve or reject (for the current build)."""
    release = board.release
    if not can(user, Capability.APPROVE_WAIVER, release.product):
        return []
    return [
        Waiting(
            kind="waiver",
            key=f"waiting-waiver-{waiver.pk}",
            what=_("Approve or reject the waiver for “%(gate)s”") % {"gate": _(row.gate.name)},
            detail=_("asked by %(who)s") % {"who": waiver.requested_by.get_username()},
            href=board_url(release, f"waiver-{waiver.pk}"),
            since=waiver.requested_at,
            release=release,
        )
        for row in board.gates
        for waiver in row.waivers
        if waiver.state == WaiverState.REQUESTED and waiver.is_current and waiver.requested_by_id != user.pk
    ]


def _signoffs(user: AbstractBaseUser | AnonymousUser, board: ReleaseBoard) -> list[Waiting]:
    """Each role the viewer signs in whose sign-off is missing or stale, once its evidence
    is in (the module docstring)."""
    release = board.release
    if release.state not in BEFORE_THE_CALL or board.go_stands:
        return []
    roles = acting_roles(user, Capability.SIGN_OFF, release.product)
    entries = []
    for row in board.signoff_rows:
        if row["role"] not in roles or row["fresh"]:
            continue
        own = [
            g
            for g in board.gates
            if g.gate.owner_role == row["role"] and g.gate.blocking and g.gate.phase == Phase.PRE_RELEASE
        ]
        if any(g.status in NOT_IN for g in own):
            continue  # not all of this role's evidence is in yet
        signoff = row["signoff"]
        moments = [release.state_changed_at, *(g.result.observed_at for g in own if g.result)]
        if signoff is not None:
            moments.append(signoff.signed_at)
        entries.append(
            Waiting(
                kind="signoff",
                key=f"waiting-signoff-{release.pk}-{row['role']}",
                what=(
                    _("Sign off again as %(role)s: the evidence changed since your sign-off")
                    if signoff is not None
                    else _("Sign off as %(role)s")
                )
                % {"role": row["role_label"]},
                href=board_url(release, f"signoff-{row['role']}"),
                since=max(moments),
                release=release,
            )
        )
    return entries


def _core_items(user: AbstractBaseUser | AnonymousUser, board: ReleaseBoard) -> list[Waiting]:
    """QA: the release's open core scenarios (not those ticked by evidence), one entry
    linking to the first of them on the checklist page."""
    release = board.release
    if not can(user, Capability.TICK_ANY_ITEM, release.product):
        return []
    open_items = [i for i in board.core_items if i.state == "open" and not i.evidence]
    if not open_items:
        return []
    url = reverse(
        "checklists:checklist", kwargs={"product": release.product.slug, "version": release.version}
    )
    count = len(open_items)
    return [
        Waiting(
            kind="core",
            key=f"waiting-core-{release.pk}",
            what=ngettext("%(count)s core scenario to tick", "%(count)s core scenarios to tick", count)
            % {"count": count},
            detail=_(open_items[0].title),
            href=f"{url}#item-{open_items[0].pk}",
            since=release.state_changed_at,
            release=release,
        )
    ]


def _call(user: AbstractBaseUser | AnonymousUser, board: ReleaseBoard) -> list[Waiting]:
    """PM/PO: a release whose verdict is ready and whose call is not made (or no longer
    stands)."""
    release = board.release
    if release.state not in BEFORE_THE_CALL or board.go_stands or not board.verdict.ready:
        return []
    if not can(user, Capability.DECIDE, release.product):
        return []
    moments = [release.state_changed_at, *(s.signed_at for s in board.signoffs.values())]
    moments += [g.result.observed_at for g in board.gates if g.result]
    return [
        Waiting(
            kind="call",
            key=f"waiting-call-{release.pk}",
            what=(
                _("Ready for the call again: the evidence changed since the decision")
                if board.decision is not None
                else _("Ready for the call: Go or No-Go")
            ),
            href=board_url(release, "decision"),
            since=max(moments),
            release=release,
        )
    ]


def _rollout(
    user: AbstractBaseUser | AnonymousUser, board: ReleaseBoard, health: StageHealth | None, now: datetime
) -> list[Waiting]:
    """DevOps: a Go that stands (start), a stage that may advance, a halt (resume or roll
    back)."""
    release = board.release
    if release.state not in (ReleaseState.GO, ReleaseState.ROLLING_OUT, ReleaseState.HALTED):
        return []
    if not can(user, Capability.ADVANCE_ROLLOUT, release.product):
        return []
    href = board_url(release, "operations")
    key = f"waiting-{release.pk}-rollout"
    if release.state == ReleaseState.GO:
        if not board.go_stands or board.decision is None:
            return []
        return [
            Waiting("start", key, _("Go called: start the rollout"), href, board.decision.decided_at, release)
        ]
    if release.state == ReleaseState.HALTED:
        reason = str((release.halt or {}).get("reason", ""))
        what = _("Rollout halted at %(percent)s %%: resume or roll back") % {
            "percent": release.rollout_percent
        }
        return [Waiting("halt", key, what, href, halted_since(release), release, detail=reason)]
    standing = standing_of(board)
    until = soak_until(release)
    if health is not None:
        if advance_blocker(release, standing, now=now, health=health) is not None:
            return []
    elif standing.post_deploy_unpassed or (until is not None and now < until):
        return []
    what = _("Stage %(percent)s %% may advance to %(next)s %%") % {
        "percent": release.rollout_percent,
        "next": rollout_next(release),
    }
    since = until or release.rollout_stage_started_at or release.state_changed_at
    return [Waiting("advance", key, what, href, since, release)]


def _action_items(user: AbstractBaseUser | AnonymousUser, product_ids: Iterable[int]) -> list[Waiting]:
    """The viewer's open action items due today or earlier (of a product they may view, or
    of none), each linked to this week's review, where it is marked done."""
    today = timezone.localdate()
    # reviews sits beside board: its items are read through the user's reverse relation.
    items = (
        user.action_items.filter(state=ACTION_OPEN, due_on__lte=today)  # type: ignore[union-attr]
        .filter(Q(product__isnull=True) | Q(product_id__in=list(product_ids)))
        .select_related("product")
        .order_by("due_on", "id")
    )
    year, week, _day = today.isocalendar()
    url = reverse("reviews:week", kwargs={"year": year, "week": week})
    return [
        Waiting(
            kind="action",
            key=f"waiting-action-{item.pk}",
            what=_("Action item: %(title)s") % {"title": item.title},
            detail=item.product.slug if item.product else "",
            href=f"{url}#action-{item.pk}",
            since=timezone.make_aware(datetime.combine(item.due_on, datetime.min.time())),
            due=item.due_on,
        )
        for item in items
    ]
