"""Operations readiness as the verdict weighs it (condition 5), and where its blockers
send people: a runbook link, on-call contacts reviewed within the product's window, a
passed rollback rehearsal. DevOps fixes each of them on the product's page; defects and
core scenarios are fixed on the release's checklist page."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from accounts.models import Role
from operations.models import OnCallContact, Rehearsal
from releases.models import Product

from .verdict import Blocker, OperationsEvidence


def required_oncall_roles(product: Product) -> frozenset[str]:
    """Every sign-off role needs an on-call contact, and so does DevOps (who rolls back)."""
    return frozenset(product.signoff_roles) | {Role.DEVOPS.value}


def operations_evidence(
    product: Product, oncall: Sequence[OnCallContact], last_rollback: Rehearsal | None
) -> OperationsEvidence:
    """The verdict's operations facts from what was read for the board (no query)."""
    return OperationsEvidence(
        runbook_url=product.runbook_url,
        required_oncall_roles=required_oncall_roles(product),
        oncall_roles=frozenset(c.role for c in oncall),
        last_rollback_rehearsal=last_rollback.performed_on if last_rollback else None,
        rehearsal_window_days=product.rehearsal_window_days,
        oncall_reviewed_on=tuple(sorted((c.role, c.reviewed_on) for c in oncall)),
        contacts_review_days=product.contacts_review_days,
    )


# The product page's section for each operations blocker (by its target id).
PRODUCT_SECTIONS = {"runbook": "runbook", "rehearsal": "rehearsals"}


def product_url(slug: str, section: str = "") -> str:
    url = reverse("board:product_page", kwargs={"slug": slug})
    return f"{url}#{section}" if section else url


def checklist_url(slug: str, version: str, anchor: str = "") -> str:
    url = reverse("checklists:checklist", kwargs={"product": slug, "version": version})
    return f"{url}#{anchor}" if anchor else url


def blocker_page(blocker: Blocker, product_slug: str, version: str = "") -> str:
    """Where a blocker is fixed when that is not the board itself: the product page's
    section for a runbook, an on-call contact (its row) or a rehearsal; the checklist page
    for a defect, a core scenario or a missing checklist; '' for the board."""
    if version and blocker.target in ("defect", "checklist_item"):
        prefix = "defect" if blocker.target == "defect" else "item"
        return checklist_url(product_slug, version, f"{prefix}-{blocker.target_id}")
    if version and blocker.code == "core_checklist_missing":
        return checklist_url(product_slug, version)
    if blocker.target != "operations":
        return ""
    if blocker.target_id.startswith("oncall"):
        return product_url(product_slug, blocker.target_id)
    return product_url(product_slug, PRODUCT_SECTIONS.get(blocker.target_id) or "operations")
