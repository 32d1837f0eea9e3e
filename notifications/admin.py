from django.contrib import admin

from audit.admin import AuditedModelAdmin

from .models import Channel


@admin.register(Channel)
class ChannelAdmin(AuditedModelAdmin):
    list_display = ["slug", "kind", "url_env", "email", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["slug", "email"]
    filter_horizontal = ["products"]
