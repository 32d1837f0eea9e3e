"""Applying a validated policy: create or update products, gates, checklist templates,
integrations and channels. One transaction; each change audited; a second run of the
same file changes nothing and says so."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models, transaction

from audit.services import audit_record
from checklists.models import ChecklistTemplate, TemplateItem, TemplateSection
from flags.models import Flag
from gates.models import Gate
from integrations.models import Integration
from notifications.models import Channel
from operations.models import HealthSource
from operations.services import oncall_set
from releases.models import Product
from slack.models import SlackChannel
from stores.models import AppStoreSource, PlaySource

from .specs import FlagSpec, PlaySpec, Policy, ProductSpec, SectionSpec, SourceSpec
from .sso import sso_policy_apply


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

    def set_products(self, obj: Any, slugs: Sequence[str] | None, label: str) -> None:
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


def _source_values(s: SourceSpec) -> dict[str, Any]:
    """A source table in the file defines the source whole (a key left out: its default)."""
    return {
        "url": s.url,
        "token_env": s.token_env,
        "interval_seconds": s.interval_seconds,
        "queries": dict(s.queries),
        "org": s.org,
        "project": s.project,
        "release_template": s.release_template,
        "active": s.active,
    }


def _product_values(p: ProductSpec) -> dict[str, Any]:
    """The product's fields the file sets; a setting it leaves out stays as it is."""
    optional = {
        "rollout_stages": list(p.rollout) if p.rollout is not None else None,
        "rollback_target_minutes": p.rollback_target_minutes,
        "signoff_roles": list(p.signoff_roles) if p.signoff_roles is not None else None,
        "runbook_url": p.runbook_url,
        "rehearsal_window_days": p.rehearsal_window_days,
        "health_error_rate": p.health.error_rate,
        "health_p95_latency_ms": p.health.p95_latency_ms,
        "health_rate_429": p.health.rate_429,
        "soak_minutes": p.health.soak_minutes,
        "health_crash_free_sessions": p.health.crash_free_sessions,
        "auto_advance": p.health.auto_advance,
        "language": p.language,
        "contacts_review_days": p.contacts_review_days,
    }
    return {
        "name": p.name,
        "platform": p.platform,
        **{field: value for field, value in optional.items() if value is not None},
    }


@transaction.atomic
def policy_apply(policy: Policy, *, actor_label: str = "policy") -> list[str]:
    """Make the database match the policy. Returns one line per change (empty: nothing to do)."""
    a = _Applier(actor_label)

    for p in policy.products:
        product = a.upsert(Product, {"slug": p.slug}, _product_values(p), f"product {p.slug}")
        for source in (p.health.prometheus, p.health.sentry):
            if source is not None:  # a source the file leaves out stays as it is
                lookup = {"product": product, "kind": source.kind}
                label = f"health source {p.slug} {source.kind}"
                a.upsert(HealthSource, lookup, _source_values(source), label)
        if p.appstore is not None:  # `[products.appstore]`; left out: the stored one stays
            a.upsert(
                AppStoreSource,
                {"product": product},
                {
                    "issuer_id": p.appstore.issuer_id,
                    "key_id": p.appstore.key_id,
                    "private_key_env": p.appstore.private_key_env,
                    "app_id": p.appstore.app_id,
                    "active": p.appstore.active,
                },
                f"App Store source {p.slug}",
            )
        if p.play is not None:  # Google Play: a source the file leaves out stays as it is
            _play_apply(a, product, p.play, p.slug)
        for oc in p.oncall:
            existing = product.oncall_contacts.filter(role=oc.role).first()
            if existing is None or (existing.name, existing.contact) != (oc.name, oc.contact):
                oncall_set(
                    product=product,
                    role=oc.role,
                    name=oc.name,
                    contact=oc.contact,
                    actor_label=a.actor_label,
                )
                a.changes.append(f"set on-call {p.slug} {oc.role}: {oc.name}")
        if p.slack is not None:  # `[products.slack]`; a file without it keeps the stored channel
            values = {"channel_id": p.slack.channel, "active": p.slack.active}
            a.upsert(SlackChannel, {"product": product}, values, f"slack channel {p.slug}")

    for position, g in enumerate(policy.gates):
        values = {
            "name": g.name,
            "owner_role": g.owner_role,
            "description": g.description,
            "phase": g.phase,
            "blocking": g.blocking,
            "waivable": g.waivable,
            "evaluation": g.evaluation,
            "allow_failure_passes": g.allow_failure_passes,
            "position": g.position if g.position is not None else (position + 1) * 10,
        }
        gate = a.upsert(Gate, {"key": g.key}, values, f"gate {g.key}")
        a.set_products(gate, g.products, f"gate {g.key}")

    for integ in policy.integrations:
        values = {
            "provider": integ.provider,
            "product": Product.objects.get(slug=integ.product),
            "secret_env": integ.secret_env,
            "api_token_env": integ.api_token_env,
            "gate_patterns": dict(integ.gates),
            "api_url": integ.api_url,
            "repository": integ.repository,
            "active": integ.active,
            "deploy_environments": list(integ.deploy_environments),  # the GitHub App
        }
        a.upsert(Integration, {"slug": integ.slug}, values, f"integration {integ.slug}")

    for cl in policy.checklists:
        template = a.upsert(
            ChecklistTemplate,
            {"key": cl.key},
            {"name": cl.name, "kind": cl.kind},
            f"checklist {cl.key}",
        )
        a.set_products(template, cl.products, f"checklist {cl.key}")
        _sync_sections(a, template, cl.sections)

    for ch in policy.channels:
        values = {
            "kind": ch.kind,
            "url_env": ch.url_env,
            "secret_env": ch.secret_env,
            "routing_key_env": ch.routing_key_env,
            "email": ch.email,
            "events": list(ch.events),
            "active": ch.active,
        }
        channel = a.upsert(Channel, {"slug": ch.slug}, values, f"channel {ch.slug}")
        a.set_products(channel, ch.products, f"channel {ch.slug}")

    if policy.sso is not None:
        a.changes.extend(sso_policy_apply(sso=policy.sso, actor_label=a.actor_label))

    _flags_apply(a, policy.flags)

    return a.changes


def _play_apply(a: _Applier, product: Product, play: PlaySpec, slug: str) -> None:
    """`[products.play]`: the product's Google Play source, defined whole by the table."""
    values = {
        "package_name": play.package_name,
        "key_env": play.key_env,
        "track": play.track,
        "active": play.active,
    }
    a.upsert(PlaySource, {"product": product}, values, f"Google Play source {slug}")


def _sync_sections(a: _Applier, template: ChecklistTemplate, sections: Sequence[SectionSpec]) -> None:
    """The file defines the template whole: sections and items not in it are removed.
    Running checklists are copies and do not change."""
    keep_sections = []
    for s_pos, s in enumerate(sections):
        label = f"checklist {template.key} section “{s.title}”"
        section = a.upsert(
            TemplateSection, {"template": template, "title": s.title}, {"position": s_pos}, label
        )
        keep_sections.append(section.pk)
        keep_items = []
        for i_pos, item in enumerate(s.items):
            values = {
                "instructions": item.instructions,
                "core": item.core,
                "owner_role": item.owner_role,
                "position": i_pos,
                "evidence": item.evidence,
            }
            obj = a.upsert(
                TemplateItem,
                {"section": section, "title": item.title},
                values,
                f"{label} item “{item.title}”",
            )
            keep_items.append(obj.pk)
        for gone_item in section.items.exclude(pk__in=keep_items):
            a.removed(gone_item, f"{label} item “{gone_item.title}”")
    for gone_section in template.sections.exclude(pk__in=keep_sections):
        a.removed(gone_section, f"checklist {template.key} section “{gone_section.title}”")


# --- [[flags]] ---------------------------------------------------------------------------


def _flags_apply(a: _Applier, flags: Sequence[FlagSpec]) -> None:
    """Each flag of the file, defined whole (a key left out: its default); a flag the file
    does not name stays as it is (switch it off with `active = false`)."""
    for f in flags:
        product = Product.objects.get(slug=f.product)
        values = {
            "name": f.name,
            "provider": f.provider,
            "url": f.url,
            "project": f.project,
            "environment": f.environment,
            "token_env": f.token_env,
            "secret_env": f.secret_env,
            "active": f.active,
        }
        a.upsert(Flag, {"product": product, "key": f.key}, values, f"flag {f.product} {f.key}")
