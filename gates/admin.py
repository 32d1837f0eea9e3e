from django.contrib import admin

from audit.admin import AuditedModelAdmin

from .models import Gate, GateResult, Waiver


@admin.register(Gate)
class GateAdmin(AuditedModelAdmin):
    list_display = ["key", "name", "phase", "blocking", "waivable", "owner_role", "evaluation", "position"]
    list_filter = ["phase", "blocking", "waivable", "owner_role", "evaluation"]
    list_editable = ["position"]
    search_fields = ["key", "name", "description"]
    filter_horizontal = ["products"]


@admin.register(GateResult)
class GateResultAdmin(admin.ModelAdmin):
    """Results are evidence: visible, never edited."""

    list_display = ["observed_at", "release", "gate", "status", "source", "run_id", "commit_sha"]
    list_filter = ["status", "source", "gate", "release__product"]
    search_fields = ["run_id", "commit_sha", "summary", "release__version"]
    list_select_related = ["release__product", "gate"]
    date_hierarchy = "observed_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Waiver)
class WaiverAdmin(admin.ModelAdmin):
    """Waivers are asked and decided on the board; here they can be read."""

    list_display = ["release", "gate", "state", "requested_by", "decided_by", "expires_at"]
    list_filter = ["state", "gate", "release__product"]
    search_fields = ["reason", "risk", "mitigation", "release__version"]
    list_select_related = ["release__product", "gate", "requested_by", "decided_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
