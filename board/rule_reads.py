"""Reads for the rules a verdict applies (`board.rules` compares them, without the ORM):
the configuration a decision keeps, and who changed a configuration row since."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Q

from accounts.capabilities import HOLDERS, Capability
from accounts.models import RoleMembership
from audit.models import AuditEvent
from gates.models import Gate
from releases.models import Product

from .rules import RuleChange, rules_of


def rule_config(product: Product, gates: list[Gate]) -> dict[str, Any]:
    """The configuration the verdict depends on, as plain data a decision keeps: the
    product's gates (blocks, waivable, phase, where the status comes from), its required
    sign-off roles and rehearsal window, who is PM/PO on it, and which of its API
    tokens that may report evidence are revoked. `board.rules.rule_weakenings` compares two of these."""
    # Only who is PM/PO: the one role whose new holders weaken a Go (`rule_weakenings`).
    roles = (
        RoleMembership.objects.filter(
            Q(product__isnull=True) | Q(product=product), role__in=HOLDERS[Capability.APPROVE_WAIVER]
        )
        .order_by("id")
        .values_list("id", "user__username", "role")
    )
    # Tokens live in integrations; read through the product's reverse relation.
    tokens = product.api_tokens.order_by("id").values_list("id", "name", "scopes", "revoked_at")
    return rules_of(product, gates, roles=roles, tokens=tokens)


def rule_change_events(
    changes: Iterable[RuleChange], *, since: datetime
) -> dict[tuple[str, str], AuditEvent]:
    """The newest audit event since `since` for each changed configuration row."""
    wanted = Q()
    for change in changes:
        wanted |= Q(object_type=change.object_type, object_id=change.object_id)
    if not wanted:
        return {}
    events: dict[tuple[str, str], AuditEvent] = {}
    for event in AuditEvent.objects.filter(wanted, at__gte=since).order_by("at", "id"):
        events[(event.object_type, event.object_id)] = event
    return events
