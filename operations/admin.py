from django.contrib import admin

from .models import OnCallContact, Rehearsal


@admin.register(OnCallContact)
class OnCallContactAdmin(admin.ModelAdmin):
    list_display = ["product", "role", "name", "contact"]
    list_filter = ["product", "role"]
    search_fields = ["name", "contact"]


@admin.register(Rehearsal)
class RehearsalAdmin(admin.ModelAdmin):
    list_display = ["product", "kind", "performed_on", "minutes", "outcome"]
    list_filter = ["product", "kind", "outcome"]
    search_fields = ["notes"]
    date_hierarchy = "performed_on"
