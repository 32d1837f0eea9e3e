"""Who may do what: one capability per action, and the roles that hold it.

`HOLDERS` is the one table of role sets; services, views and templates ask `can` (or
`ensure_can`, `may_do`) and never list roles themselves. A user's roles are read once per
request. A global membership (no product) counts for every product; `product=None` asks
about any product. Superusers may read everything (`VIEW`), but they act only through the
roles they hold: being an administrator is not a sign-off.

Rules that are not about roles stay with the service that applies them: the release owner
may cancel, another PM/PO must decide a waiver, a check's owner role ticks it, attendees
edit the review they attended.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, TypeGuard

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Model

from .models import Role

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser, User

_CACHE_ATTR = "_gonogo_role_pairs"


class Capability(enum.StrEnum):
    """One action someone may take. The value is the key templates read in `may`."""

    VIEW = "view"  # read a product's boards, checklists and reviews
    SIGN_OFF = "sign_off"  # in a role held (`role=`); the product says which roles it asks
    DECIDE = "decide"  # the final Go or No-Go
    CANCEL = "cancel"  # cancel a release (its owner may too)
    PROMOTE = "promote"  # make a draft a release candidate (its owner may too)
    RUN_MEETING = "run_meeting"  # start, minute and end the Go/No-Go meeting
    ASK_WAIVER = "ask_waiver"
    APPROVE_WAIVER = "approve_waiver"  # approve or reject (not one's own request)
    REVOKE_WAIVER = "revoke_waiver"
    CARRY_OVER_WAIVER = "carry_over_waiver"
    TICK_ANY_ITEM = "tick_any_item"  # any item of a release's checklist
    TICK_OWN_ITEM = "tick_own_item"  # an item in its owner role (`role=`)
    UNDO_TICK = "undo_tick"  # take back one's last tick
    REPORT_DEFECT = "report_defect"
    RESOLVE_DEFECT = "resolve_defect"  # resolve or reopen
    UPDATE_CHECKLIST_FROM_TEMPLATE = "update_checklist_from_template"
    APPROVE_PROGRAMME_ITEM = "approve_programme_item"  # in its role (`role=`), for every product
    ADVANCE_ROLLOUT = "advance_rollout"  # start, advance, halt, resume, roll back
    RECORD_RELEASE_REHEARSAL = "record_release_rehearsal"
    RECORD_ROLLBACK_REHEARSAL = "record_rollback_rehearsal"
    EDIT_OPERATIONS = "edit_operations"  # the product's runbook link and on-call contacts
    EDIT_REVIEW = "edit_review"  # begin, write, time and end any weekly review
    EDIT_ATTENDED_REVIEW = "edit_attended_review"  # a review one is recorded attending
    CLOSE_ACTION_ITEM = "close_action_item"  # mark any done or open (owner and creator may too)
    MANAGE_ALERTS = "manage_alerts"  # see alert channels and their delivery log, send a test
    KILL_FLAG = "kill_flag"  # turn a feature flag off at its provider, with a reason
    MANAGE_FLAGS = "manage_flags"  # add, attach and detach a product's feature flags
    ASK_IN_SLACK = "ask_in_slack"  # ask a release's missing sign-offs in its Slack channel


EVERY_ROLE = frozenset(Role)
LEADS_AND_QA = frozenset({Role.QA, Role.MOBILE_LEAD, Role.BACKEND_LEAD})
PM = frozenset({Role.PM})

HOLDERS: dict[Capability, frozenset[Role]] = {
    Capability.VIEW: EVERY_ROLE,
    Capability.SIGN_OFF: EVERY_ROLE,
    Capability.DECIDE: PM,
    Capability.CANCEL: PM,
    Capability.PROMOTE: PM,
    Capability.RUN_MEETING: PM,
    Capability.ASK_WAIVER: LEADS_AND_QA,
    Capability.APPROVE_WAIVER: PM,
    Capability.REVOKE_WAIVER: PM,
    Capability.CARRY_OVER_WAIVER: PM,
    Capability.TICK_ANY_ITEM: frozenset({Role.QA}),
    Capability.TICK_OWN_ITEM: EVERY_ROLE,
    Capability.UNDO_TICK: LEADS_AND_QA | {Role.DEVOPS},
    Capability.REPORT_DEFECT: LEADS_AND_QA,
    Capability.RESOLVE_DEFECT: LEADS_AND_QA,
    Capability.UPDATE_CHECKLIST_FROM_TEMPLATE: frozenset({Role.QA, Role.PM}),
    Capability.APPROVE_PROGRAMME_ITEM: EVERY_ROLE,
    Capability.ADVANCE_ROLLOUT: frozenset({Role.DEVOPS}),
    Capability.RECORD_RELEASE_REHEARSAL: frozenset({Role.QA}),
    Capability.RECORD_ROLLBACK_REHEARSAL: frozenset({Role.DEVOPS}),
    Capability.EDIT_OPERATIONS: frozenset({Role.DEVOPS}),
    Capability.EDIT_REVIEW: PM,
    Capability.EDIT_ATTENDED_REVIEW: EVERY_ROLE,
    Capability.CLOSE_ACTION_ITEM: PM,
    Capability.MANAGE_ALERTS: frozenset({Role.DEVOPS, Role.PM}),
    Capability.KILL_FLAG: frozenset({Role.DEVOPS, Role.PM}),
    Capability.MANAGE_FLAGS: frozenset({Role.DEVOPS, Role.PM}),
    Capability.ASK_IN_SLACK: PM,
}


def _role_pairs(user: AbstractBaseUser | AnonymousUser | None) -> frozenset[tuple[str, int | None]]:
    if user is None or not user.is_authenticated:
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        # As SQL: every page and panel asks it once, and the ORM's compiling would cost
        # three times the query (issue 16).
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT role, product_id FROM accounts_rolemembership WHERE user_id = %s", [user.pk]
            )
            cached = frozenset((role, product_id) for role, product_id in cursor.fetchall())
        setattr(user, _CACHE_ATTR, cached)
    return cached


def roles_for(user: AbstractBaseUser | AnonymousUser | None, product: Model | int | None = None) -> set[str]:
    """The roles `user` holds for `product` (global memberships included).

    With `product=None`, every role the user holds anywhere.
    """
    pairs = _role_pairs(user)
    if product is None:
        return {role for role, _ in pairs}
    product_id = product.pk if isinstance(product, Model) else product
    return {role for role, pid in pairs if pid is None or pid == product_id}


def acting_roles(
    user: AbstractBaseUser | AnonymousUser | None, capability: Capability, product: Model | int | None = None
) -> frozenset[str]:
    """The roles in which `user` may do `capability` for `product`."""
    return frozenset(role for role in roles_for(user, product) if role in HOLDERS[capability])


def can(
    user: AbstractBaseUser | AnonymousUser | None,
    capability: Capability,
    product: Model | int | None = None,
    *,
    role: str | None = None,
) -> TypeGuard[User]:
    """True when `user` may do `capability` for `product` (for any product, if None).
    With `role`, only acting in that role counts (a sign-off, an item's owner role). True
    means a signed-in user: a service's `if not can(actor, ...): raise` narrows `actor`."""
    if capability == Capability.VIEW and _active_superuser(user):
        return True
    roles = acting_roles(user, capability, product)
    return role in roles if role is not None else bool(roles)


def ensure_can(
    user: AbstractBaseUser | AnonymousUser | None,
    capability: Capability,
    product: Model | int | None = None,
    *,
    role: str | None = None,
) -> None:
    """For views: PermissionDenied (403) unless `can`. Services raise their own NotAllowed."""
    if can(user, capability, product, role=role):
        return
    if capability == Capability.VIEW:
        raise PermissionDenied("You hold no role on this product.")
    raise PermissionDenied("This action needs a role you do not hold.")


def may_do(
    user: AbstractBaseUser | AnonymousUser | None, product: Model | int | None = None
) -> dict[str, bool]:
    """Every capability's `can` for `product`, by value: the `may` mapping of templates
    (`{% if may.decide %}`). Built once per page; the roles are read once per request."""
    return {capability.value: can(user, capability, product) for capability in Capability}


def _active_superuser(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(getattr(user, "is_superuser", False) and getattr(user, "is_active", False))
