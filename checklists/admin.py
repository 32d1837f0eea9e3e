from django.contrib import admin

from audit.admin import AuditedModelAdmin

from .models import Checklist, ChecklistItem, ChecklistTemplate, Defect, TemplateItem, TemplateSection


class TemplateSectionInline(admin.TabularInline):
    model = TemplateSection
    extra = 0
    show_change_link = True


class TemplateItemInline(admin.TabularInline):
    model = TemplateItem
    extra = 1


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(AuditedModelAdmin):
    list_display = ["key", "name", "kind"]
    list_filter = ["kind"]
    search_fields = ["key", "name", "sections__items__title"]
    filter_horizontal = ["products"]
    inlines = [TemplateSectionInline]


@admin.register(TemplateSection)
class TemplateSectionAdmin(AuditedModelAdmin):
    list_display = ["title", "template", "position"]
    list_filter = ["template"]
    search_fields = ["title", "items__title"]
    inlines = [TemplateItemInline]


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    fields = ("section", "title", "core", "owner_role", "state", "ticked_by", "ticked_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Checklist)
class ChecklistAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "release", "created_at"]
    list_filter = ["kind", "release__product"]
    search_fields = ["name", "release__version"]
    readonly_fields = ["template", "kind", "release", "name", "created_at"]
    inlines = [ChecklistItemInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Defect)
class DefectAdmin(admin.ModelAdmin):
    """Defects are evidence: recorded and resolved on the release's checklist page (or by
    a tracker through the API), read here."""

    list_display = [
        "title",
        "release",
        "severity",
        "state",
        "reported_by",
        "reported_at",
        "resolved_by",
        "resolved_at",
    ]
    list_filter = ["severity", "state", "release__product"]
    search_fields = ["title", "tracker_url", "release__version"]
    list_select_related = ["release__product", "reported_by"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
