"""`[[checklists]]`: a template's kind and products, its sections and their items."""

from __future__ import annotations

from typing import Any

from checklists.models import ChecklistKind, Evidence

from ..specs import ChecklistSpec, ItemSpec, SectionSpec
from .checker import Checker, Known, Shape

SHAPE = Shape(
    section="checklists",
    keys={"key": str, "name": str, "kind": str, "products": list, "sections": list},
    required=("key", "name", "kind"),
    ident="key",
)
SECTION_KEYS = {"title": str, "items": list}
ITEM_KEYS = {"title": str, "instructions": str, "core": bool, "owner_role": str, "evidence": str}


def checklists_parse(c: Checker, entries: list[Any], known: Known) -> tuple[ChecklistSpec, ...]:
    """Check each template's own values (its keys and types are checked by
    `shapes_check`): a known kind and products, sections and items titled once each.
    Returns the specs, or nothing once the file has a problem (it is refused whole)."""
    for i, cl in enumerate(entries):
        if not isinstance(cl, dict):
            continue
        where = f"checklists[{i}]"
        c.choice(cl.get("kind"), ChecklistKind.values, f"{where}.kind")
        c.products(cl.get("products"), known, where)
        section_titles: set[str] = set()
        for j, section in enumerate(c.array(cl.get("sections"), f"{where}.sections")):
            swhere = f"{where}.sections[{j}]"
            c.table(section, SECTION_KEYS, swhere)
            if not isinstance(section, dict):
                continue
            if "title" not in section:
                c.add(f"{swhere}.title", "is required")
            elif section["title"] in section_titles:
                c.add(f"{swhere}.title", f"“{section['title']}” appears twice in this checklist")
            section_titles.add(section.get("title", ""))
            _items_check(c, section.get("items"), swhere, programme=cl.get("kind") == ChecklistKind.PROGRAMME)
    if c.problems:
        return ()
    return tuple(_checklist(cl) for cl in entries)


def _items_check(c: Checker, items: Any, swhere: str, *, programme: bool) -> None:
    titles: set[str] = set()
    for k, item in enumerate(c.array(items, f"{swhere}.items")):
        iwhere = f"{swhere}.items[{k}]"
        c.table(item, ITEM_KEYS, iwhere)
        if isinstance(item, dict):
            if "title" not in item:
                c.add(f"{iwhere}.title", "is required")
            elif item["title"] in titles:
                c.add(f"{iwhere}.title", f"“{item['title']}” appears twice in this section")
            titles.add(item.get("title", ""))
            c.role(item.get("owner_role"), f"{iwhere}.owner_role")
            evidence = item.get("evidence")
            if isinstance(evidence, str) and evidence:
                c.choice(evidence, [e for e in Evidence.values if e], f"{iwhere}.evidence")
                if not programme:
                    c.add(f"{iwhere}.evidence", "only programme checks are ticked by evidence")


def _checklist(cl: dict[str, Any]) -> ChecklistSpec:
    sections = tuple(
        # The file's keys are the spec's fields; a key left out keeps the spec's default.
        SectionSpec(title=s["title"], items=tuple(ItemSpec(**item) for item in s.get("items") or []))
        for s in cl.get("sections") or []
    )
    products = tuple(cl["products"]) if "products" in cl else None
    return ChecklistSpec(
        key=cl["key"], name=cl["name"], kind=cl["kind"], products=products, sections=sections
    )
