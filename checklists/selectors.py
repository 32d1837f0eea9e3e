"""Reads for checklists."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Checklist, ChecklistItem, ChecklistKind, ItemState


@dataclass
class ProgrammeChecklist:
    checklist: Checklist
    items: list[ChecklistItem]

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.state == ItemState.PASSED)

    @property
    def complete(self) -> bool:
        return bool(self.items) and self.done == len(self.items)


def programme_checklist() -> ProgrammeChecklist | None:
    """The programme setup checklist with its items, or None if there is none."""
    checklist = Checklist.objects.filter(kind=ChecklistKind.PROGRAMME).order_by("id").first()
    if checklist is None:
        return None
    items = list(checklist.items.select_related("ticked_by").order_by("section_position", "position", "id"))
    return ProgrammeChecklist(checklist=checklist, items=items)
