from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from audit.admin import AuditedModelAdmin
from core.errors import DomainError

from .models import HealthSample, HealthSource, OnCallContact, Rehearsal
from .monitoring import PROMETHEUS_METRICS
from .services import rehearsal_record


@admin.register(OnCallContact)
class OnCallContactAdmin(AuditedModelAdmin):
    list_display = ["product", "role", "name", "contact", "reviewed_on"]
    list_filter = ["product", "role"]
    search_fields = ["name", "contact"]


@admin.register(Rehearsal)
class RehearsalAdmin(admin.ModelAdmin):
    """Rehearsals are evidence for the verdict: added through the audited service, never
    edited or deleted afterwards."""

    list_display = ["product", "kind", "performed_on", "minutes", "outcome", "recorded_by"]
    list_filter = ["product", "kind", "outcome"]
    search_fields = ["notes"]
    date_hierarchy = "performed_on"
    fields = ["product", "kind", "performed_on", "minutes", "outcome", "notes"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        try:
            saved = rehearsal_record(
                product=obj.product,
                kind=obj.kind,
                performed_on=obj.performed_on,
                minutes=obj.minutes,
                outcome=obj.outcome,
                notes=obj.notes,
                actor=request.user,
            )
        except DomainError as error:
            raise ValidationError(error.message) from error
        obj.pk = saved.pk


class HealthSourceForm(forms.ModelForm):
    """The queries and the interval checked as the policy file checks them."""

    class Meta:
        model = HealthSource
        fields = [
            "product",
            "kind",
            "url",
            "token_env",
            "interval_seconds",
            "queries",
            "org",
            "project",
            "release_template",
            "active",
        ]

    def clean_queries(self) -> Any:
        queries = self.cleaned_data.get("queries") or {}
        if not isinstance(queries, dict):
            raise ValidationError(_('A table of metric → PromQL, for example {"error_rate": "…"}.'))
        unknown = sorted(set(queries) - set(PROMETHEUS_METRICS))
        if unknown:
            raise ValidationError(
                _("Unknown metric %(unknown)s (known: %(known)s).")
                % {"unknown": ", ".join(unknown), "known": ", ".join(PROMETHEUS_METRICS)}
            )
        if any(not isinstance(q, str) or not q.strip() for q in queries.values()):
            raise ValidationError(_("Each query is a PromQL string."))
        return queries

    def clean_interval_seconds(self) -> int:
        value = int(self.cleaned_data["interval_seconds"])
        if value < 10:
            raise ValidationError(_("The sampling interval is at least 10 seconds."))
        return value


@admin.register(HealthSource)
class HealthSourceAdmin(AuditedModelAdmin):
    """Where a product's rollout health is read (docs/rollout.md "Monitoring sources").
    The token is named by its GONOGO_ environment variable (checked by the model's
    clean()), never stored."""

    form = HealthSourceForm
    list_display = ["product", "kind", "url", "interval_seconds", "active", "last_sampled_at"]
    list_filter = ["kind", "active", "product"]
    readonly_fields = ["last_sampled_at"]


@admin.register(HealthSample)
class HealthSampleAdmin(admin.ModelAdmin):
    """Rollout health as monitoring posted it (read-only evidence)."""

    list_display = [
        "release",
        "sampled_at",
        "source",
        "error_rate",
        "p95_latency_ms",
        "rate_429",
        "crash_free_sessions",
        "halted",
    ]
    list_filter = ["halted", "source", "release__product"]
    readonly_fields = [f.name for f in HealthSample._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
