"""App Store Connect sources in the admin (audited), and the changes' log (read only).
Imported by StoresConfig.ready (stores/admin.py is shared with the Play source)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin

from .models import AppStoreChange, AppStoreChangeAttempt, AppStorePhasedRelease, AppStoreSource


@admin.register(AppStoreSource)
class AppStoreSourceAdmin(AuditedModelAdmin):
    list_display = ["product", "app_id", "issuer_id", "key_id", "private_key_env", "active"]
    list_filter = ["active"]
    search_fields = ["product__slug", "app_id", "key_id"]


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AttemptInline(admin.TabularInline):
    model = AppStoreChangeAttempt
    extra = 0
    can_delete = False
    ordering = ["number"]
    fields = ("number", "at", "ok", "status_code", "answer", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AppStoreChange)
class AppStoreChangeAdmin(ReadOnly):
    list_display = [
        "created_at",
        "release",
        "wanted",
        "origin",
        "status",
        "attempts",
        "status_code",
        "answer",
    ]
    list_filter = ["status", "wanted", "origin"]
    list_select_related = ["release__product"]
    inlines = [AttemptInline]


@admin.register(AppStorePhasedRelease)
class AppStorePhasedReleaseAdmin(ReadOnly):
    list_display = ["release", "state", "current_day", "read_at", "drift_key", "read_error"]
    list_select_related = ["release__product"]
