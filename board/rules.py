"""The rules a Go was decided on, and which later changes weaken them (pure, no ORM).

A Go stands on evidence (build, commit, gate states: the fingerprint) *and* on the rules
that turned that evidence into a ready verdict: which gates block, may be waived, and
run before release; whose sign-off is required; how recent a rollback rehearsal must be;
who holds a role on the product; which of its API tokens are revoked. A change that
makes a rule stricter shows in the verdict itself (a new blocker). A change that makes
one weaker does not — the verdict stays ready — so it is compared here: the decision
keeps the rules (`snapshot["rules"]`, built by `board.rule_reads.rule_config`) and any
weakening since makes the Go stale, with what changed in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.korean import particles

from .verdict import _role_label


@dataclass(frozen=True)
class RuleChange:
    """One weakening: `object_type`/`object_id` name the configuration row that changed
    (for the audit event saying who changed it and when)."""

    code: str
    object_type: str
    object_id: str
    params: tuple[tuple[str, str], ...] = field(default=())


def rules_of(
    product: Any, gates: Iterable[Any], *, roles: Iterable[Sequence[Any]], tokens: Iterable[Sequence[Any]]
) -> dict[str, Any]:
    """The rules as `board.rule_reads.rule_config` keeps them, from rows already read: the
    product's PM/PO memberships as (id, username, role), its API tokens as (id, name,
    scopes, revoked_at). Only tokens that may write evidence (results, health) count."""
    return {
        "product_id": product.pk,
        "gates": {
            g.key: {
                "id": g.pk,
                "name": g.name,
                "blocking": g.blocking,
                "waivable": g.waivable,
                "phase": g.phase,
                "evaluation": g.evaluation,
            }
            for g in gates
        },
        "signoff_roles": sorted(product.signoff_roles),
        "rehearsal_window_days": product.rehearsal_window_days,
        "roles": [list(r) for r in roles],
        "tokens": [
            [pk, name, revoked_at is not None]
            for pk, name, scopes, revoked_at in tokens
            if {"results", "metrics"} & set(scopes or [])
        ],
    }


def _gates(rules: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(k): v for k, v in (rules.get("gates") or {}).items()}


def rule_weakenings(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[RuleChange]:
    """Every change from `before` to `now` that could let through what `before` held back."""
    changes: list[RuleChange] = []
    now_gates = _gates(now)
    for key, old in sorted(_gates(before).items()):
        gate_id = str(old.get("id", ""))
        name = (("gate", str(old.get("name", key))),)
        new = now_gates.get(key)
        if new is None:
            if old.get("blocking") and old.get("phase") == "pre_release":
                changes.append(RuleChange("gate_gone", "gates.gate", gate_id, name))
            continue
        if old.get("blocking") and not new.get("blocking"):
            changes.append(RuleChange("gate_not_blocking", "gates.gate", gate_id, name))
        if not old.get("waivable") and new.get("waivable"):
            changes.append(RuleChange("gate_waivable", "gates.gate", gate_id, name))
        if old.get("phase") == "pre_release" and new.get("phase") != "pre_release":
            changes.append(RuleChange("gate_after_deploy", "gates.gate", gate_id, name))
        if old.get("evaluation") != new.get("evaluation"):
            changes.append(RuleChange("gate_evaluation", "gates.gate", gate_id, name))

    product_id = str(now.get("product_id") or before.get("product_id") or "")
    for role in sorted(set(before.get("signoff_roles") or []) - set(now.get("signoff_roles") or [])):
        changes.append(RuleChange("signoff_not_required", "releases.product", product_id, (("role", role),)))
    old_window, new_window = before.get("rehearsal_window_days"), now.get("rehearsal_window_days")
    if isinstance(old_window, int) and isinstance(new_window, int) and new_window > old_window:
        changes.append(
            RuleChange(
                "rehearsal_window_longer",
                "releases.product",
                product_id,
                (("before", str(old_window)), ("after", str(new_window))),
            )
        )

    # A new PM/PO on the product: someone who may call Go and approve waivers that the Go
    # was not decided with ("granting oneself the PM role"). Other roles only sign off,
    # and a new sign-off changes the evidence anyway; a new QA joining by single sign-on
    # during a rollout must not withdraw the Go. Compared by who and which role, not by
    # row: a membership re-created as it was (SSO re-syncs them at sign-in) grants nothing.
    old_roles = {(str(r[1]), str(r[2])) for r in before.get("roles") or [] if len(r) > 2}
    for membership_id, username, role in sorted(
        tuple(r[:3])
        for r in now.get("roles") or []
        if len(r) > 2 and str(r[2]) == "pm" and (str(r[1]), str(r[2])) not in old_roles
    ):
        changes.append(
            RuleChange(
                "role_granted",
                "accounts.rolemembership",
                str(membership_id),
                (("who", str(username)), ("role", str(role))),
            )
        )

    # A token revoked when the Go was given and usable again now. (A token issued since is
    # not a weakening of what was decided on: `issue_token` is its own audited act.)
    revoked_then = {int(t[0]) for t in before.get("tokens") or [] if len(t) > 2 and t[2]}
    for token_id, token_name, revoked in sorted(tuple(t[:3]) for t in now.get("tokens") or [] if len(t) > 2):
        if int(token_id) in revoked_then and not revoked:
            changes.append(
                RuleChange(
                    "token_active", "integrations.apitoken", str(token_id), (("token", str(token_name)),)
                )
            )
    return changes


RULE_MESSAGES = {
    "gate_gone": gettext_noop("“%(gate)s” no longer applies to this release"),
    "gate_not_blocking": gettext_noop("“%(gate)s” no longer blocks the release"),
    "gate_waivable": gettext_noop("“%(gate)s” may now be waived"),
    "gate_after_deploy": gettext_noop("“%(gate)s” moved to after deploy"),
    "gate_evaluation": gettext_noop("“%(gate)s” takes its status from elsewhere now"),
    "signoff_not_required": gettext_noop("the sign-off of %(role)s is no longer required"),
    "rehearsal_window_longer": gettext_noop(
        "the rollback rehearsal window grew from %(before)s to %(after)s days"
    ),
    "role_granted": gettext_noop("%(who)s was given the role %(role)s on this product"),
    "token_active": gettext_noop("the revoked API token “%(token)s” may report for this product again"),
}


def rule_change_message(change: RuleChange) -> str:
    """The change in words, in the active language."""
    p = dict(change.params)
    if "gate" in p:
        p["gate"] = _(p["gate"])
    if "role" in p:
        p["role"] = _role_label(p["role"])
    template = _(RULE_MESSAGES[change.code]) if change.code in RULE_MESSAGES else change.code
    try:
        return particles(template % p)
    except (KeyError, ValueError):
        return template
