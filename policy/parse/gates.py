"""`[[gates]]`: phase, evaluation, owner role, products; critical-bugs is never waivable."""

from __future__ import annotations

from typing import Any

from gates.models import Evaluation, Phase

from ..specs import GateSpec
from .checker import Checker, Known, Shape

SHAPE = Shape(
    section="gates",
    keys={
        "key": str,
        "name": str,
        "description": str,
        "phase": str,
        "blocking": bool,
        "waivable": bool,
        "owner_role": str,
        "evaluation": str,
        "allow_failure_passes": bool,
        "position": int,
        "products": list,
    },
    required=("key", "name", "owner_role"),
    ident="key",
)


def gates_parse(c: Checker, entries: list[Any], known: Known) -> tuple[GateSpec, ...]:
    """Check each gate's own values (its keys and types are checked by `shapes_check`).
    Returns the specs, or nothing once the file has a problem (it is refused whole)."""
    for i, g in enumerate(entries):
        if not isinstance(g, dict):
            continue
        where = f"gates[{i}]"
        if isinstance(g.get("position"), int) and g["position"] < 0:
            c.add(f"{where}.position", "must be 0 or more")
        c.choice(g.get("phase"), Phase.values, f"{where}.phase")
        c.choice(g.get("evaluation"), Evaluation.values, f"{where}.evaluation")
        c.role(g.get("owner_role"), f"{where}.owner_role")
        if g.get("key") == "critical-bugs" and g.get("waivable"):
            c.add(f"{where}.waivable", "critical-bugs can never be waived")
        c.products(g.get("products"), known, where)
    if c.problems:
        return ()
    return tuple(_gate(g) for g in entries)


def _gate(g: dict[str, Any]) -> GateSpec:
    # The file's keys are the spec's fields; a key left out keeps the spec's default.
    return GateSpec(**{**g, "products": tuple(g["products"])} if "products" in g else g)
