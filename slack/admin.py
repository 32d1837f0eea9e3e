"""Slack in the admin: each product's channel and the people linked to Slack users
(audited changes), and the asks and interactions received (read only)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from audit.admin import AuditedModelAdmin

from .models import SlackAsk, SlackChannel, SlackInteraction, SlackLink


@admin.register(SlackChannel)
class SlackChannelAdmin(AuditedModelAdmin):
    list_display = ["product", "channel_id", "active"]
    list_filter = ["active"]
    autocomplete_fields = ["product"]


@admin.register(SlackLink)
class SlackLinkAdmin(AuditedModelAdmin):
    """Who a Slack user is on Go/No-Go: their button presses vote as this person."""

    list_display = ["user", "slack_user_id", "team_id"]
    search_fields = ["user__username", "user__email", "slack_user_id"]
    autocomplete_fields = ["user"]


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SlackAsk)
class SlackAskAdmin(ReadOnlyAdmin):
    list_display = ["asked_at", "release", "channel_id", "status", "attempts", "error", "message_ts"]
    list_filter = ["status"]
    list_select_related = ["release__product"]


@admin.register(SlackInteraction)
class SlackInteractionAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "slack_user_id", "user", "action_id", "status", "outcome"]
    list_filter = ["status"]
    search_fields = ["slack_user_id", "outcome"]
    exclude = ["body"]  # it holds the response_url, which lets anyone answer the person
