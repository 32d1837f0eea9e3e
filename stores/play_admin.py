from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin

from .models import PlayCall, PlaySource, PlayTrackReading

# --- Google Play ---


@admin.register(PlaySource)
class PlaySourceAdmin(AuditedModelAdmin):
    list_display = ["product", "package_name", "track", "key_env", "active"]
    list_filter = ["active"]
    search_fields = ["package_name", "product__slug"]


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PlayCall)
class PlayCallAdmin(_ReadOnly):
    """The steps sent to Google Play, read only: what was asked, and every answer."""

    list_display = ["created_at", "release", "event", "status", "user_fraction", "state", "attempts"]
    list_filter = ["state", "status"]
    readonly_fields = [f.name for f in PlayCall._meta.fields]


@admin.register(PlayTrackReading)
class PlayTrackReadingAdmin(_ReadOnly):
    list_display = ["release", "status", "user_fraction", "read_at", "drift", "error"]
    readonly_fields = [f.name for f in PlayTrackReading._meta.fields]


# --- end of Google Play ---
