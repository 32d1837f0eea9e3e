from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin

from .models import Flag, FlagShip, Kill


class FlagShipInline(admin.TabularInline):
    model = FlagShip
    extra = 0
    fields = ("release", "ships", "by", "at")
    readonly_fields = ("by", "at")
    raw_id_fields = ("release",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # attached on the board (audited) or by default


@admin.register(Flag)
class FlagAdmin(AuditedModelAdmin):
    list_display = ["key", "product", "provider", "environment", "state", "state_read_at", "active"]
    list_filter = ["provider", "active", "state", "product"]
    search_fields = ["key", "name"]
    readonly_fields = ["state", "state_read_at", "state_error"]
    fields = [
        "product",
        "key",
        "name",
        "provider",
        "url",
        "project",
        "environment",
        "token_env",
        "secret_env",
        "active",
        "state",
        "state_read_at",
        "state_error",
    ]


@admin.register(Kill)
class KillAdmin(admin.ModelAdmin):
    """Every Kill, read only: who asked, why, what the provider answered."""

    list_display = ["created_at", "flag", "release", "by_label", "status", "attempts", "status_code", "error"]
    list_filter = ["status"]
    search_fields = ["flag__key", "by_label", "reason", "error"]
    list_select_related = ["flag", "release__product"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in Kill._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
