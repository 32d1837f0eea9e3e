"""Writes about people and roles: single sign-on sign-in and role re-sync from the groups
claim (the policy file's [sso] section is applied by policy/sso.py). Keyword-only, atomic,
audited."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext as _

from audit.services import audit_record

from .models import MembershipSource, RoleMembership, SsoGroupRole, SsoIdentity

if TYPE_CHECKING:
    from django.contrib.auth.models import User

USERNAME_RE = re.compile(r"[^\w.@+-]")


class SsoRefused(Exception):
    """A sign-in the provider vouched for, which we still refuse (said to the person)."""


def _username_from(claims: dict[str, Any]) -> str:
    raw = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub") or "")
    return USERNAME_RE.sub("-", raw)[:150]


def _membership_label(role: str, product_id: int | None, slugs: dict[int, str]) -> dict[str, Any]:
    return {"role": role, "product": slugs.get(product_id, "") if product_id else "*", "source": "sso"}


@transaction.atomic
def sso_roles_sync(*, user: User, groups: list[str], actor_label: str = "sso") -> list[str]:
    """Make `user`'s single sign-on memberships exactly those the policy's [sso] rules give
    for `groups`: grants what is missing, removes SSO memberships no group gives any more,
    each an audit event. Memberships given by hand are never touched; a role already held
    by hand is not granted twice. Returns one line per change."""
    wanted = set(SsoGroupRole.objects.filter(group__in=groups).values_list("role", "product_id"))
    current = {(m.role, m.product_id): m for m in RoleMembership.objects.filter(user=user)}
    # The slugs of the products either side names, through the memberships' own relations.
    slugs = dict(
        SsoGroupRole.objects.filter(group__in=groups, product__isnull=False).values_list(
            "product_id", "product__slug"
        )
    )
    slugs.update(
        RoleMembership.objects.filter(user=user, product__isnull=False).values_list(
            "product_id", "product__slug"
        )
    )
    changes = []
    for (role, product_id), membership in sorted(current.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        if membership.source == MembershipSource.SSO and (role, product_id) not in wanted:
            audit_record(
                actor=None,
                actor_label=actor_label,
                action="role.sso_revoke",
                obj=membership,
                before={"user": user.get_username(), **_membership_label(role, product_id, slugs)},
            )
            membership.delete()
            changes.append(f"removed {role} ({slugs.get(product_id, '*') if product_id else '*'})")
    for role, product_id in sorted(wanted - set(current), key=lambda rp: (rp[0], rp[1] or 0)):
        membership = RoleMembership.objects.create(
            user=user, role=role, product_id=product_id, source=MembershipSource.SSO
        )
        audit_record(
            actor=None,
            actor_label=actor_label,
            action="role.sso_grant",
            obj=membership,
            after={"user": user.get_username(), **_membership_label(role, product_id, slugs)},
        )
        changes.append(f"granted {role} ({slugs.get(product_id, '*') if product_id else '*'})")
    return changes


@transaction.atomic
def sso_user_sign_in(*, issuer: str, claims: dict[str, Any], groups: list[str]) -> User:
    """The person the provider vouched for: found by (issuer, subject), or created on first
    sign-in with a user name from `preferred_username` (else `email`). A local account that
    already has that user name is not taken over (SsoRefused): an administrator links it.
    Name and e-mail follow the claims; roles are re-synced from `groups`."""
    subject = str(claims.get("sub") or "")
    if not subject:
        raise SsoRefused(_("The sign-in provider did not say who you are."))
    User = get_user_model()
    identity = SsoIdentity.objects.select_related("user").filter(issuer=issuer, subject=subject).first()
    if identity is None:
        username = _username_from(claims)
        if not username:
            raise SsoRefused(_("The sign-in provider sent no user name or e-mail address."))
        if User.objects.filter(username__iexact=username).exists():
            raise SsoRefused(
                _(
                    "An account named %(username)s already exists here. Ask an administrator to link it to "
                    "your single sign-on identity."
                )
                % {"username": username}
            )
        user = User.objects.create_user(username=username)
        user.set_unusable_password()
        user.save(update_fields=["password"])
        identity = SsoIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        audit_record(
            actor=None,
            actor_label="sso",
            action="user.sso_create",
            obj=user,
            after={"username": username, "issuer": issuer, "subject": subject},
        )
    user = identity.user
    profile = {
        "email": str(claims.get("email") or user.email)[:254],
        "first_name": str(claims.get("given_name") or user.first_name)[:150],
        "last_name": str(claims.get("family_name") or user.last_name)[:150],
    }
    changed = [k for k, v in profile.items() if getattr(user, k) != v]
    if changed:
        for k in changed:
            setattr(user, k, profile[k])
        user.save(update_fields=changed)
    sso_roles_sync(user=user, groups=groups)
    return user
