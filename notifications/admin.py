from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin

from .models import Channel, Delivery, DeliveryAttempt


@admin.register(Channel)
class ChannelAdmin(AuditedModelAdmin):
    list_display = ["slug", "kind", "url_env", "secret_env", "routing_key_env", "email", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["slug", "email"]
    filter_horizontal = ["products"]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    ordering = ["number"]
    fields = ("number", "at", "ok", "status_code", "error", "duration_ms")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log, read only: what was sent where, and every attempt's answer."""

    list_display = [
        "created_at",
        "channel",
        "event",
        "release",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "event", "channel"]
    search_fields = ["message_id", "channel__slug", "event", "last_error"]
    list_select_related = ["channel", "release__product"]
    date_hierarchy = "created_at"
    inlines = [DeliveryAttemptInline]
    readonly_fields = [
        "channel",
        "event",
        "message_id",
        "product",
        "release",
        "data",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
        "requested_by",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
