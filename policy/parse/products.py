"""`[[products]]`: platform, rollout stages, sign-off roles, health (policy/parse/health.py),
on-call, the alerts' language."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from core.validation import is_http_url
from releases.models import Platform

from ..specs import OnCallSpec, ProductSpec
from .appstore import appstore_check, appstore_spec
from .checker import Checker, Shape
from .health import health_check, health_spec
from .play import play_check, play_spec
from .slack import slack_check, slack_spec

SHAPE = Shape(
    section="products",
    keys={
        "slug": str,
        "name": str,
        "platform": str,
        "rollout": list,
        "rollback_target_minutes": int,
        "signoff_roles": list,
        "health": dict,
        "runbook_url": str,
        "rehearsal_window_days": int,
        "language": str,
        "contacts_review_days": int,
        "oncall": list,
        "slack": dict,
        "appstore": dict,  # policy/parse/appstore.py
        "play": dict,  # Google Play (policy/parse/play.py)
    },
    required=("slug", "name", "platform"),
    ident="slug",
)
ONCALL_KEYS = {"role": str, "name": str, "contact": str}


def products_parse(c: Checker, entries: list[Any]) -> tuple[ProductSpec, ...]:
    """Check each product's own values (its keys and types are checked by `shapes_check`).
    Returns the specs, or nothing once the file has a problem (it is refused whole)."""
    for i, p in enumerate(entries):
        if isinstance(p, dict):
            _product_check(c, p, f"products[{i}]")
    if c.problems:
        return ()
    return tuple(_product(p) for p in entries)


def _product_check(c: Checker, p: dict[str, Any], where: str) -> None:
    for key, minimum in (
        ("rollback_target_minutes", 0),
        ("rehearsal_window_days", 1),
        ("contacts_review_days", 1),
    ):
        value = p.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < minimum:
            c.add(f"{where}.{key}", f"must be {minimum} or more")
    if isinstance(p.get("runbook_url"), str) and p["runbook_url"] and not is_http_url(p["runbook_url"]):
        c.add(f"{where}.runbook_url", "must be an http or https link")
    c.choice(p.get("platform"), Platform.values, f"{where}.platform")
    c.choice(p.get("language"), [code for code, _name in settings.LANGUAGES], f"{where}.language")
    for j, role in enumerate(p.get("signoff_roles") or []):
        c.role(role, f"{where}.signoff_roles[{j}]")
    rollout = p.get("rollout")
    if isinstance(rollout, list):
        if not rollout or not all(
            isinstance(x, int) and not isinstance(x, bool) and 0 < x <= 100 for x in rollout
        ):
            c.add(
                f"{where}.rollout", "must be whole percentages between 0 and 100, for example [1, 5, 20, 100]"
            )
        elif list(rollout) != sorted(set(rollout)) or rollout[-1] != 100:
            c.add(f"{where}.rollout", "must rise strictly and end at 100")
    health = p.get("health")
    if isinstance(health, dict):
        health_check(c, health, f"{where}.health")
    if isinstance(p.get("slack"), dict):
        slack_check(c, p["slack"], f"{where}.slack")
    if "appstore" in p:
        appstore_check(c, p["appstore"], f"{where}.appstore")
    if "play" in p:
        play_check(c, p["play"], f"{where}.play", platform=p.get("platform"))
    oncall_roles: set[str] = set()
    for j, oc in enumerate(c.array(p.get("oncall"), f"{where}.oncall")):
        c.table(oc, ONCALL_KEYS, f"{where}.oncall[{j}]")
        if isinstance(oc, dict):
            c.role(oc.get("role"), f"{where}.oncall[{j}].role")
            if oc.get("role") in oncall_roles:
                c.add(f"{where}.oncall[{j}].role", f"“{oc.get('role')}” has two on-call contacts; keep one")
            oncall_roles.add(oc.get("role", ""))
            for req in ONCALL_KEYS:
                if req not in oc:
                    c.add(f"{where}.oncall[{j}].{req}", "is required")


def _product(p: dict[str, Any]) -> ProductSpec:
    health = p.get("health") or {}
    return ProductSpec(
        slug=p["slug"],
        name=p["name"],
        platform=p["platform"],
        rollout=tuple(p["rollout"]) if "rollout" in p else None,
        rollback_target_minutes=p.get("rollback_target_minutes"),
        signoff_roles=tuple(p["signoff_roles"]) if "signoff_roles" in p else None,
        runbook_url=p.get("runbook_url"),
        rehearsal_window_days=p.get("rehearsal_window_days"),
        language=p.get("language"),
        contacts_review_days=p.get("contacts_review_days"),
        health=health_spec(health),
        oncall=tuple(
            OnCallSpec(role=oc["role"], name=oc["name"], contact=oc["contact"])
            for oc in p.get("oncall") or []
        ),
        slack=slack_spec(p.get("slack")),
        appstore=appstore_spec(p["appstore"]) if "appstore" in p else None,
        play=play_spec(p.get("play")),
    )
