"""Applying the policy file's [sso] section: the groups claim and the group → role rules
of single sign-on (accounts keeps them; the sign-in re-syncs roles from them)."""

from __future__ import annotations

from django.db import transaction

from accounts.models import SsoGroupRole, SsoSettings
from audit.services import audit_record
from releases.models import Product

from .specs import SsoSpec


@transaction.atomic
def sso_policy_apply(*, sso: SsoSpec, actor_label: str) -> list[str]:
    """Make the stored [sso] section match the policy file: the groups claim, and the
    group → role rules (the file defines them whole: rules not in it are removed). Each
    change is an audit event; running it twice changes nothing. Returns one line per
    change."""
    changes = []
    if sso.groups_claim is not None:
        row, _created = SsoSettings.objects.get_or_create(pk=1)
        if row.groups_claim != sso.groups_claim:
            audit_record(
                actor=None,
                actor_label=actor_label,
                action="policy.update",
                obj=row,
                before={"groups_claim": row.groups_claim},
                after={"groups_claim": sso.groups_claim},
            )
            row.groups_claim = sso.groups_claim
            row.save(update_fields=["groups_claim"])
            changes.append(f"updated sso (groups_claim: {sso.groups_claim})")
    products = dict(Product.objects.values_list("slug", "pk"))
    keep = []
    for rule in sso.roles:
        product_id = products[rule.product] if rule.product else None
        same = SsoGroupRole.objects.filter(group=rule.group, role=rule.role)
        obj = (
            same.filter(product_id=product_id) if product_id else same.filter(product__isnull=True)
        ).first()
        label = f"sso role {rule.group} → {rule.role} ({rule.product or '*'})"
        if obj is None:
            obj = SsoGroupRole.objects.create(group=rule.group, role=rule.role, product_id=product_id)
            audit_record(
                actor=None,
                actor_label=actor_label,
                action="policy.create",
                obj=obj,
                after={"group": rule.group, "role": rule.role, "product": rule.product or "*"},
            )
            changes.append(f"created {label}")
        keep.append(obj.pk)
    for gone in SsoGroupRole.objects.exclude(pk__in=keep).select_related("product"):
        label = f"sso role {gone.group} → {gone.role} ({gone.product.slug if gone.product else '*'})"
        audit_record(
            actor=None, actor_label=actor_label, action="policy.remove", obj=gone, before={"label": label}
        )
        gone.delete()
        changes.append(f"removed {label}")
    return changes
