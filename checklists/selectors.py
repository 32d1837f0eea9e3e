"""Reads for checklists."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from accounts.capabilities import Capability, acting_roles
from releases.models import Product

from .models import Checklist, ChecklistItem, ChecklistKind, ItemState, TemplateItem

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser


def programme_products(checklist: Checklist) -> list[Product]:
    """The products the programme setup checklist covers: its template's products, or
    every product when the template names none."""
    return list(checklist.template.products.order_by("slug")) or list(Product.objects.order_by("slug"))


def programme_approver_roles(user: AbstractBaseUser | AnonymousUser | None, checklist: Checklist) -> set[str]:
    """The roles in which `user` may approve the programme's checks: those held for every
    product the programme covers (a global membership covers all). A role held for one
    product only does not approve a check that speaks for all of them."""
    products = programme_products(checklist)
    if not products:
        return set(acting_roles(user, Capability.APPROVE_PROGRAMME_ITEM))
    return set.intersection(
        *(set(acting_roles(user, Capability.APPROVE_PROGRAMME_ITEM, product)) for product in products)
    )


@dataclass
class ProgrammeChecklist:
    checklist: Checklist
    items: list[ChecklistItem]
    approver_roles: frozenset[str] = frozenset()  # the viewer's, see programme_approver_roles

    @property
    def done(self) -> int:
        return sum(1 for i in self.items if i.state == ItemState.PASSED)

    @property
    def complete(self) -> bool:
        return bool(self.items) and self.done == len(self.items)


def programme_checklist(user: AbstractBaseUser | AnonymousUser | None = None) -> ProgrammeChecklist | None:
    """The programme setup checklist with its items, or None if there is none; with
    `user`, the roles in which they may approve its checks."""
    checklist = (
        Checklist.objects.filter(kind=ChecklistKind.PROGRAMME)
        .select_related("template")
        .order_by("id")
        .first()
    )
    if checklist is None:
        return None
    items = list(checklist.items.select_related("ticked_by").order_by("section_position", "position", "id"))
    roles = frozenset(programme_approver_roles(user, checklist)) if user is not None else frozenset()
    return ProgrammeChecklist(checklist=checklist, items=items, approver_roles=roles)


COMPARED = ("section", "section_position", "title", "instructions", "core", "owner_role", "position")


@dataclass
class TemplateChange:
    """One difference between a release's checklist and its template today."""

    kind: str  # added | changed | removed | kept (removed from the template, kept: it was ticked)
    title: str
    section: str
    fields: list[str]
    item: ChecklistItem | None = None
    template_item: TemplateItem | None = None
    values: dict[str, Any] | None = None  # the template's values for added and changed items


def checklist_template_changes(checklist: Checklist) -> list[TemplateChange]:
    """What "update from template" would do to `checklist`: items the template added,
    items whose wording, core flag, owner or place changed, and items it removed (an item
    already ticked is kept, with its evidence). Outcomes of kept items never change."""
    if checklist.template_id is None:
        return []
    template_items = list(
        TemplateItem.objects.filter(section__template_id=checklist.template_id).select_related("section")
    )
    items = list(checklist.items.all())
    by_template = {i.template_item_id: i for i in items if i.template_item_id}
    by_title = {(i.section, i.title): i for i in items if not i.template_item_id}
    seen: set[int] = set()
    changes: list[TemplateChange] = []
    for t in sorted(template_items, key=lambda t: (t.section.position, t.position, t.pk)):
        values = {
            "section": t.section.title,
            "section_position": t.section.position,
            "title": t.title,
            "instructions": t.instructions,
            "core": t.core,
            "owner_role": t.owner_role,
            "position": t.position,
        }
        item = by_template.get(t.pk) or by_title.get((t.section.title, t.title))
        if item is None:
            changes.append(
                TemplateChange("added", t.title, t.section.title, [], template_item=t, values=values)
            )
            continue
        seen.add(item.pk)
        differs = [name for name in COMPARED if getattr(item, name) != values[name]]
        if differs or item.template_item_id != t.pk:
            changes.append(
                TemplateChange(
                    "changed", t.title, t.section.title, differs, item=item, template_item=t, values=values
                )
            )
    for item in items:
        if item.pk in seen:
            continue
        untouched = item.state == ItemState.OPEN and not item.note and not item.evidence_url
        kind = "removed" if untouched else "kept"
        changes.append(TemplateChange(kind, item.title, item.section, [], item=item))
    return [c for c in changes if c.kind != "changed" or c.fields or c.item is not None]


@dataclass
class Progress:
    total: int
    done: int  # anything but open
    passed: int
    failed: int  # failed or blocked

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def progress_of(items: list[ChecklistItem]) -> Progress:
    return progress_of_states([i.state for i in items])


def progress_of_states(states: list[str]) -> Progress:
    return Progress(
        total=len(states),
        done=sum(1 for s in states if s != ItemState.OPEN),
        passed=sum(1 for s in states if s == ItemState.PASSED),
        failed=sum(1 for s in states if s in (ItemState.FAILED, ItemState.BLOCKED)),
    )


@dataclass
class Section:
    title: str
    checklist: Checklist
    items: list[ChecklistItem]

    @property
    def progress(self) -> Progress:
        return progress_of(self.items)

    @property
    def slug(self) -> str:
        return (
            f"{self.checklist.pk}-{self.items[0].section_position}" if self.items else str(self.checklist.pk)
        )


@dataclass
class ReleaseChecklist:
    """A release's checklists for the ticking page and the report: sections in order,
    progress overall and for core items, and the defects found."""

    checklists: list[Checklist]
    sections: list[Section]
    defects: list[Any]

    @property
    def items(self) -> list[ChecklistItem]:
        return [i for s in self.sections for i in s.items]

    @property
    def progress(self) -> Progress:
        return progress_of(self.items)

    @property
    def core_progress(self) -> Progress:
        return progress_of([i for i in self.items if i.core])

    def defects_for(self, item: ChecklistItem) -> list[Any]:
        return [d for d in self.defects if d.checklist_item_id == item.pk]


def release_checklist(release: Any) -> ReleaseChecklist:
    """Everything the checklist page shows, in three queries whatever the item count."""
    from .models import Defect

    checklists = list(Checklist.objects.filter(release=release).order_by("id"))
    items = list(
        ChecklistItem.objects.filter(checklist__release=release)
        .select_related("ticked_by")
        .order_by("checklist_id", "section_position", "position", "id")
    )
    by_id = {c.pk: c for c in checklists}
    sections: list[Section] = []
    for item in items:
        item.checklist = by_id[item.checklist_id]
        if (
            not sections
            or sections[-1].checklist.pk != item.checklist_id
            or sections[-1].title != item.section
        ):
            sections.append(Section(item.section, by_id[item.checklist_id], []))
        sections[-1].items.append(item)
    defects = list(
        Defect.objects.filter(release=release)
        .select_related("reported_by", "resolved_by")
        .order_by("-reported_at")
    )
    return ReleaseChecklist(checklists=checklists, sections=sections, defects=defects)


@dataclass
class SectionCount:
    """What a section's count shows (`#section-count`), without its rows."""

    slug: str
    progress: Progress


def checklist_section_count(item: ChecklistItem) -> SectionCount:
    """The count of the section holding `item`: one query of its items' states."""
    states = list(
        ChecklistItem.objects.filter(
            checklist_id=item.checklist_id, section=item.section, section_position=item.section_position
        ).values_list("state", flat=True)
    )
    return SectionCount(f"{item.checklist_id}-{item.section_position}", progress_of_states(states))


def checklist_section_of(item: ChecklistItem) -> ReleaseChecklist:
    """Only the section holding `item` (its items and their defects): what a tick
    re-renders, without reading the whole checklist."""
    from .models import Defect

    items = list(
        ChecklistItem.objects.filter(
            checklist_id=item.checklist_id, section=item.section, section_position=item.section_position
        )
        .select_related("ticked_by")
        .order_by("position", "id")
    )
    checklist = item.checklist
    for i in items:
        i.checklist = checklist
    defects = list(
        Defect.objects.filter(checklist_item__in=[i.pk for i in items]).select_related(
            "reported_by", "resolved_by"
        )
    )
    return ReleaseChecklist(
        checklists=[checklist], sections=[Section(item.section, checklist, items)], defects=defects
    )
