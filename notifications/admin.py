from django.contrib import admin

from .models import Channel


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["slug", "kind", "url_env", "email", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["slug", "email"]
    filter_horizontal = ["products"]
