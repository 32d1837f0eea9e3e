from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin
from core.errors import DomainError

from .models import HealthSample, OnCallContact, Rehearsal
from .services import rehearsal_record


@admin.register(OnCallContact)
class OnCallContactAdmin(AuditedModelAdmin):
    list_display = ["product", "role", "name", "contact"]
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


@admin.register(HealthSample)
class HealthSampleAdmin(admin.ModelAdmin):
    """Rollout health as monitoring posted it (read-only evidence)."""

    list_display = ["release", "sampled_at", "error_rate", "p95_latency_ms", "rate_429", "halted"]
    list_filter = ["halted", "release__product"]
    readonly_fields = [f.name for f in HealthSample._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
