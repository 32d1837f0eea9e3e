"""Applying a validated policy: create or update products, gates, checklist templates,
integrations and channels. One transaction; each change audited; a second run of the
same file changes nothing and says so."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from accounts.services import sso_policy_apply
from audit.services import audit_record
from checklists.models import ChecklistTemplate, TemplateItem, TemplateSection
from gates.models import Gate
from integrations.models import Integration
from notifications.models import Channel
from operations.services import oncall_set
from releases.models import Product

from .schema import Policy


class _Applier:
    def __init__(self, actor_label: str) -> None:
        self.actor_label = actor_label
        self.changes: list[str] = []

    def upsert(
        self, model: type[models.Model], lookup: dict[str, Any], values: dict[str, Any], label: str
    ) -> Any:
        obj = model._default_manager.filter(**lookup).first()
        if obj is None:
            obj = model._default_manager.create(**lookup, **values)
            self.changes.append(f"created {label}")
            audit_record(
                actor=None, actor_label=self.actor_label, action="policy.create", obj=obj, after=values
            )
            return obj
        diff = {k: (getattr(obj, k), v) for k, v in values.items() if getattr(obj, k) != v}
        if diff:
            for k, (_old, new) in diff.items():
                setattr(obj, k, new)
            obj.save(update_fields=list(diff))
            desc = ", ".join(f"{k}: {old!r} → {new!r}" for k, (old, new) in diff.items())
            self.changes.append(f"updated {label} ({desc})")
            audit_record(
                actor=None,
                actor_label=self.actor_label,
                action="policy.update",
                obj=obj,
                before={k: old for k, (old, _n) in diff.items()},
                after={k: new for k, (_o, new) in diff.items()},
            )
        return obj

    def removed(self, obj: models.Model, label: str) -> None:
        audit_record(
            actor=None,
            actor_label=self.actor_label,
            action="policy.remove",
            obj=obj,
            before={
                "label": label,
                **{f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields},
            },
        )
        obj.delete()
        self.changes.append(f"removed {label}")

    def set_products(self, obj: Any, slugs: list[str] | None, label: str) -> None:
        if slugs is None:
            return
        wanted = set(Product.objects.filter(slug__in=slugs).values_list("pk", flat=True))
        current_slugs = sorted(obj.products.values_list("slug", flat=True))
        current = set(obj.products.values_list("pk", flat=True))
        if wanted != current:
            obj.products.set(wanted)
            self.changes.append(f"updated {label} (products: {', '.join(sorted(slugs)) or 'all'})")
            audit_record(
                actor=None,
                actor_label=self.actor_label,
                action="policy.update",
                obj=obj,
                before={"products": current_slugs},
                after={"products": sorted(slugs)},
            )


def _product_values(p: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"name": p["name"], "platform": p["platform"]}
    optional = {
        "rollout": "rollout_stages",
        "rollback_target_minutes": "rollback_target_minutes",
        "signoff_roles": "signoff_roles",
        "runbook_url": "runbook_url",
        "rehearsal_window_days": "rehearsal_window_days",
    }
    for key, field in optional.items():
        if key in p:
            values[field] = p[key]
    health = p.get("health") or {}
    for key, field in {
        "error_rate": "health_error_rate",
        "p95_latency_ms": "health_p95_latency_ms",
        "rate_429": "health_rate_429",
        "soak_minutes": "soak_minutes",
    }.items():
        if key in health:
            values[field] = float(health[key]) if key in ("error_rate", "rate_429") else health[key]
    return values


@transaction.atomic
def policy_apply(policy: Policy, *, actor_label: str = "policy") -> list[str]:
    """Make the database match the policy. Returns one line per change (empty: nothing to do)."""
    a = _Applier(actor_label)

    for p in policy.products:
        product = a.upsert(Product, {"slug": p["slug"]}, _product_values(p), f"product {p['slug']}")
        for oc in p.get("oncall") or []:
            existing = product.oncall_contacts.filter(role=oc["role"]).first()
            if existing is None or (existing.name, existing.contact) != (oc["name"], oc["contact"]):
                oncall_set(
                    product=product,
                    role=oc["role"],
                    name=oc["name"],
                    contact=oc["contact"],
                    actor_label=a.actor_label,
                )
                a.changes.append(f"set on-call {p['slug']} {oc['role']}: {oc['name']}")

    for position, g in enumerate(policy.gates):
        values = {
            "name": g["name"],
            "owner_role": g["owner_role"],
            "description": g.get("description", ""),
            "phase": g.get("phase", "pre_release"),
            "blocking": g.get("blocking", True),
            "waivable": g.get("waivable", False),
            "evaluation": g.get("evaluation", "ci"),
            "allow_failure_passes": g.get("allow_failure_passes", False),
            "position": g.get("position", (position + 1) * 10),
        }
        gate = a.upsert(Gate, {"key": g["key"]}, values, f"gate {g['key']}")
        a.set_products(gate, g.get("products"), f"gate {g['key']}")

    for integ in policy.integrations:
        values = {
            "provider": integ["provider"],
            "product": Product.objects.get(slug=integ["product"]),
            "secret_env": integ.get("secret_env", ""),
            "api_token_env": integ.get("api_token_env", ""),
            "gate_patterns": integ.get("gates", {}),
            "api_url": integ.get("api_url", ""),
            "repository": integ.get("repository", ""),
            "active": integ.get("active", True),
        }
        a.upsert(Integration, {"slug": integ["slug"]}, values, f"integration {integ['slug']}")

    for cl in policy.checklists:
        template = a.upsert(
            ChecklistTemplate,
            {"key": cl["key"]},
            {"name": cl["name"], "kind": cl["kind"]},
            f"checklist {cl['key']}",
        )
        a.set_products(template, cl.get("products"), f"checklist {cl['key']}")
        _sync_sections(a, template, cl.get("sections") or [])

    for ch in policy.channels:
        values = {
            "kind": ch["kind"],
            "url_env": ch.get("url_env", ""),
            "email": ch.get("email", ""),
            "active": ch.get("active", True),
        }
        channel = a.upsert(Channel, {"slug": ch["slug"]}, values, f"channel {ch['slug']}")
        a.set_products(channel, ch.get("products"), f"channel {ch['slug']}")

    if policy.sso is not None:
        a.changes.extend(
            sso_policy_apply(
                groups_claim=policy.sso.get("groups_claim"),
                rules=policy.sso.get("roles") or [],
                actor_label=a.actor_label,
            )
        )

    return a.changes


def _sync_sections(a: _Applier, template: ChecklistTemplate, sections: list[dict[str, Any]]) -> None:
    """The file defines the template whole: sections and items not in it are removed.
    Running checklists are copies and do not change."""
    keep_sections = []
    for s_pos, s in enumerate(sections):
        label = f"checklist {template.key} section “{s['title']}”"
        section = a.upsert(
            TemplateSection, {"template": template, "title": s["title"]}, {"position": s_pos}, label
        )
        keep_sections.append(section.pk)
        keep_items = []
        for i_pos, item in enumerate(s.get("items") or []):
            values = {
                "instructions": item.get("instructions", ""),
                "core": item.get("core", False),
                "owner_role": item.get("owner_role", "qa"),
                "position": i_pos,
            }
            obj = a.upsert(
                TemplateItem,
                {"section": section, "title": item["title"]},
                values,
                f"{label} item “{item['title']}”",
            )
            keep_items.append(obj.pk)
        for gone_item in section.items.exclude(pk__in=keep_items):
            a.removed(gone_item, f"{label} item “{gone_item.title}”")
    for gone_section in template.sections.exclude(pk__in=keep_sections):
        a.removed(gone_section, f"checklist {template.key} section “{gone_section.title}”")
