from django.contrib import admin

from .models import Integration


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    list_display = ["slug", "provider", "product", "secret_env", "active"]
    list_filter = ["provider", "product", "active"]
    search_fields = ["slug", "repository"]
