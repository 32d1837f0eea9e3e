"""Reads for operations: a product's on-call contacts with their review state, its
rehearsals, and the newest of each kind."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import OuterRef, Subquery

from accounts.models import Role
from releases.models import Product

from .models import OnCallContact, Rehearsal, RehearsalKind

# How many rehearsals the product page lists (newest first).
REHEARSALS_SHOWN = 50


def review_overdue(reviewed_on: date | None, *, window_days: int, today: date) -> bool:
    """A contact not reviewed within `window_days` (or never) blocks a release: the rule
    `board.verdict` applies to the evidence, said once more here for the pages."""
    return reviewed_on is None or reviewed_on < today - timedelta(days=window_days)


@dataclass(frozen=True)
class ContactRow:
    """One role's on-call contact as the product page shows it."""

    role: str
    contact: OnCallContact | None
    required: bool  # a sign-off role or DevOps: a missing or stale contact blocks
    overdue: bool  # missing, never reviewed or reviewed before the window

    @property
    def role_label(self) -> str:
        return str(Role(self.role).label) if self.role in Role.values else self.role

    @property
    def state(self) -> str:
        """`missing`, `never_reviewed`, `overdue` or `reviewed`."""
        if self.contact is None:
            return "missing"
        if self.contact.reviewed_on is None:
            return "never_reviewed"
        return "overdue" if self.overdue else "reviewed"


def oncall_rows(product: Product, *, required_roles: Iterable[str], today: date) -> list[ContactRow]:
    """Each required role (in the order of `Role`), then any other role with a contact,
    with its contact and review state. One query."""
    required = set(required_roles)
    contacts = {c.role: c for c in OnCallContact.objects.filter(product=product)}
    roles = [r for r in Role.values if r in required or r in contacts]
    return [
        ContactRow(
            role=role,
            contact=contacts.get(role),
            required=role in required,
            overdue=role not in contacts
            or review_overdue(
                contacts[role].reviewed_on, window_days=product.contacts_review_days, today=today
            ),
        )
        for role in roles
    ]


def rehearsals_of(product: Product, *, limit: int = REHEARSALS_SHOWN) -> list[Rehearsal]:
    """The product's rehearsals, newest first, with who recorded them. One query."""
    return list(
        Rehearsal.objects.filter(product=product)
        .select_related("recorded_by")
        .order_by("-performed_on", "-id")[:limit]
    )


def last_rehearsals(product: Product) -> dict[str, Rehearsal | None]:
    """The newest release rehearsal and the newest rollback rehearsal (any outcome), by
    kind. One query."""
    newest = (
        Rehearsal.objects.filter(product=OuterRef("product"), kind=OuterRef("kind"))
        .order_by("-performed_on", "-id")
        .values("pk")[:1]
    )
    found = {
        r.kind: r
        for r in Rehearsal.objects.filter(product=product, pk=Subquery(newest)).select_related("recorded_by")
    }
    return {kind: found.get(kind) for kind in RehearsalKind.values}
