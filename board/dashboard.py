"""Reads for the dashboard: the boards of many releases at once.

`release_boards` runs a fixed number of queries, whatever the number of releases: each
read of `board.selectors.release_board` done once for all of them, then grouped by
release or product. Each board equals the one `release_board` builds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from accounts.capabilities import HOLDERS, Capability
from accounts.models import RoleMembership
from checklists.models import ChecklistItem, Defect
from gates.models import Waiver
from gates.selectors import current_results_for, gates_for_products
from operations.models import OnCallContact, Rehearsal, RehearsalKind, RehearsalOutcome
from releases.models import Decision, Product, Release, SignOff, Vote

from .rule_reads import rule_change_events
from .rules import rule_weakenings, rules_of
from .selectors import ReleaseBoard, build_board
from .stale_reads import news_events


def release_boards(releases: Sequence[Release], *, now: datetime | None = None) -> list[ReleaseBoard]:
    """The board of each release, in order, with their rules (and who weakened them)
    read too. The releases come with their product (`select_related("product")`)."""
    if not releases:
        return []
    now = now or timezone.now()
    release_ids = [r.pk for r in releases]
    product_ids = {r.product_id for r in releases}

    gates = gates_for_products(product_ids)
    results = current_results_for(releases)
    waivers = _by(
        Waiver.objects.filter(release_id__in=release_ids)
        .select_related("requested_by", "decided_by")
        .order_by("-requested_at"),
        "release_id",
    )
    pm_ids = _approvers_who_are_pm(waivers, product_ids)
    defects = _by(
        Defect.objects.filter(release_id__in=release_ids).order_by("state", "-reported_at"), "release_id"
    )
    items = _by(
        ChecklistItem.objects.filter(checklist__release_id__in=release_ids)
        .select_related("ticked_by", "checklist")
        .order_by("checklist_id", "section_position", "position", "id"),
        "checklist.release_id",
    )
    signoffs = _by(
        SignOff.objects.filter(release_id__in=release_ids)
        .select_related("signed_by")
        .order_by("signed_at", "id"),
        "release_id",
    )
    events = news_events({pk: signoffs.get(pk, []) for pk in release_ids})
    newest = Decision.objects.filter(release_id=OuterRef("release_id")).order_by("-decided_at", "-id")
    decisions = {
        d.release_id: d
        for d in Decision.objects.filter(
            release_id__in=release_ids, pk=Subquery(newest.values("pk")[:1])
        ).select_related("decided_by")
    }
    oncall = _by(OnCallContact.objects.filter(product_id__in=product_ids).order_by("role"), "product_id")
    passed_rollbacks = Rehearsal.objects.filter(
        kind=RehearsalKind.ROLLBACK,
        outcome=RehearsalOutcome.PASSED,
        performed_on__lte=timezone.localdate(now),  # what was known at `now`
    )
    last = passed_rollbacks.filter(product_id=OuterRef("product_id")).order_by("-performed_on", "-id")
    last_rollbacks = {
        r.product_id: r
        for r in passed_rollbacks.filter(product_id__in=product_ids, pk=Subquery(last.values("pk")[:1]))
    }

    boards = [
        build_board(
            r,
            now=now,
            gates=gates[r.product_id],
            results=results[r.pk],
            waivers=waivers.get(r.pk, []),
            pm_ids=pm_ids.get(r.product_id, set()),
            defects=defects.get(r.pk, []),
            items=items.get(r.pk, []),
            signoffs=signoffs.get(r.pk, []),
            decision=decisions.get(r.pk),
            oncall=oncall.get(r.product_id, []),
            last_rollback=last_rollbacks.get(r.product_id),
            events=events.get(r.pk, []),
        )
        for r in releases
    ]
    _preload_rules(boards, product_ids)
    return boards


def _by(rows: Any, key: str) -> dict[int, list[Any]]:
    """`rows` grouped by the id at `key` (a dotted path), each group in query order."""
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        value = row
        for part in key.split("."):
            value = getattr(value, part)
        groups[value].append(row)
    return groups


def _approvers_who_are_pm(waivers: dict[int, list[Waiver]], product_ids: set[int]) -> dict[int, set[int]]:
    """Per product, which of the waivers' deciders are PM/PO on it (or on every product)."""
    approver_ids = {w.decided_by_id for ws in waivers.values() for w in ws if w.decided_by_id}
    if not approver_ids:
        return {}
    memberships = (
        RoleMembership.objects.filter(user_id__in=approver_ids, role__in=HOLDERS[Capability.APPROVE_WAIVER])
        .filter(Q(product__isnull=True) | Q(product_id__in=product_ids))
        .values_list("user_id", "product_id")
    )
    pm_ids: dict[int, set[int]] = defaultdict(set)
    for user_id, product_id in memberships:
        for pk in product_ids if product_id is None else [product_id]:
            pm_ids[pk].add(user_id)
    return pm_ids


def _preload_rules(boards: list[ReleaseBoard], product_ids: set[int]) -> None:
    """Each board's rules (`rule_config`), and for a standing Go whose rules were weakened
    since, the newest audit event of each changed row: three queries for all boards."""
    roles: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for *role, product_id in (
        RoleMembership.objects.filter(
            Q(product__isnull=True) | Q(product_id__in=product_ids),
            role__in=HOLDERS[Capability.APPROVE_WAIVER],
        )
        .order_by("id")
        .values_list("id", "user__username", "role", "product_id")
    ):
        for pk in product_ids if product_id is None else [product_id]:
            roles[pk].append(tuple(role))
    # Tokens live in integrations: read through the products' reverse relation.
    tokens: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for product_id, *token in (
        Product.objects.filter(pk__in=product_ids, api_tokens__isnull=False)
        .order_by("api_tokens__id")
        .values_list(
            "pk", "api_tokens__id", "api_tokens__name", "api_tokens__scopes", "api_tokens__revoked_at"
        )
    ):
        tokens[product_id].append(tuple(token))

    weakened = []
    for board in boards:
        product = board.release.product
        board.preloaded_rules = rules_of(
            product, [row.gate for row in board.gates], roles=roles[product.pk], tokens=tokens[product.pk]
        )
        board.preloaded_rule_events = {}
        decision = board.decision
        if decision and decision.outcome == Vote.GO and "rules" in (decision.snapshot or {}):
            changes = rule_weakenings(decision.snapshot["rules"], board.preloaded_rules)
            if changes:
                weakened.append((board, decision.decided_at, changes))
    if not weakened:
        return
    events = rule_change_events(
        [c for _board, _at, changes in weakened for c in changes], since=min(at for _b, at, _c in weakened)
    )
    for board, at, changes in weakened:
        # The newest event since the earliest decision is the newest since this one, if
        # it came after this one at all.
        keys = {(c.object_type, c.object_id) for c in changes}
        board.preloaded_rule_events = {k: e for k, e in events.items() if k in keys and e.at >= at}
