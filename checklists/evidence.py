"""Programme checks ticked by evidence: a passed rehearsal or a delivered test alert on
record ticks its check, never a click (`checklist_item_tick` refuses those). The board
layer says when evidence arrives (board.programme); this module writes the tick. Atomic,
audited."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from core.errors import RuleViolation
from releases.models import Product

from .models import ChecklistItem, ChecklistKind, Evidence, ItemState

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# Who the audit trail says ticked it: the system, on the record named in the note.
SYSTEM = "system"


def _covers(item: ChecklistItem, product: Product | None) -> bool:
    """A programme names its products (none: every product)."""
    if product is None:
        return True
    products = item.checklist.template.products
    return not products.exists() or products.filter(pk=product.pk).exists()


@transaction.atomic
def programme_evidence_tick(
    *, evidence: str, by: User, note: str, product: Product | None = None
) -> list[ChecklistItem]:
    """Tick, as the system, every open programme check that `evidence` ticks (in the
    programmes covering `product`, when given), with `by` (who supplied the evidence),
    now, and `note` saying what the evidence is. A check already ticked keeps its first
    tick. Returns the checks ticked now."""
    if evidence not in Evidence.values or not evidence:
        raise RuleViolation("evidence_invalid", _("Unknown kind of evidence."), field="evidence")
    items = list(
        ChecklistItem.objects.select_for_update(of=("self",))
        .select_related("checklist__template")
        .filter(checklist__kind=ChecklistKind.PROGRAMME, evidence=evidence, state=ItemState.OPEN)
        .order_by("id")
    )
    ticked = []
    now = timezone.now()
    for item in items:
        if not _covers(item, product):
            continue
        before = {"state": item.state, "note": item.note, "ticked_by": None, "ticked_at": None}
        item.state = ItemState.PASSED
        item.note = note
        item.ticked_by = by
        item.ticked_at = now
        item.revision += 1
        item.save(update_fields=["state", "note", "ticked_by", "ticked_at", "revision"])
        audit_record(
            actor=None,
            actor_label=SYSTEM,
            action="checklist_item.evidence_tick",
            obj=item,
            before=before,
            after={
                "state": item.state,
                "note": note,
                "evidence": evidence,
                "ticked_by": by.pk,
                "ticked_at": now.isoformat(),
                "revision": item.revision,
            },
        )
        ticked.append(item)
    return ticked
