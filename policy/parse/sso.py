"""`[sso]`: the groups claim and the group → role rules of single sign-on."""

from __future__ import annotations

from typing import Any

from ..specs import SsoRoleSpec, SsoSpec
from .checker import Checker, Known

SSO_KEYS = {"groups_claim": str, "roles": list}
SSO_ROLE_KEYS = {"group": str, "role": str, "product": str}


def sso_parse(c: Checker, sso: Any, known: Known) -> SsoSpec | None:
    """Check the [sso] table: a claim name that is not empty, rules with a group and a
    known role (and product), each rule once. Returns `None` when the file has no [sso]
    section (nothing changes), or once the file has a problem (it is refused whole)."""
    if sso is None:
        return None
    c.table(sso, SSO_KEYS, "sso")
    if not isinstance(sso, dict):
        return None
    claim = sso.get("groups_claim")
    if isinstance(claim, str) and not claim.strip():
        c.add("sso.groups_claim", "must not be empty (leave it out for the default)")
    seen: set[tuple[Any, ...]] = set()
    for i, rule in enumerate(c.array(sso.get("roles"), "sso.roles")):
        where = f"sso.roles[{i}]"
        c.table(rule, SSO_ROLE_KEYS, where)
        if not isinstance(rule, dict):
            continue
        for req in ("group", "role"):
            if req not in rule:
                c.add(f"{where}.{req}", "is required")
        c.role(rule.get("role"), f"{where}.role")
        if rule.get("product") is not None and rule.get("product") not in known.products:
            c.add(f"{where}.product", f"unknown product “{rule.get('product')}”")
        ident = (rule.get("group"), rule.get("role"), rule.get("product"))
        if ident in seen:
            c.add(f"{where}", "the same group, role and product appear twice in [sso]")
        seen.add(ident)
    if c.problems:
        return None
    return SsoSpec(
        groups_claim=claim,
        roles=tuple(
            SsoRoleSpec(group=rule["group"], role=rule["role"], product=rule.get("product"))
            for rule in sso.get("roles") or []
        ),
    )
