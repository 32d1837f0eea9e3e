from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from audit.admin import AuditedModelAdmin
from core.errors import DomainError
from operations.models import OnCallContact, Rehearsal
from releases.models import Decision, Product, Release, SignOff

from .lifecycle import release_promote


class OnCallInline(admin.TabularInline):
    model = OnCallContact
    extra = 1


class RehearsalInline(admin.TabularInline):
    """Read-only here: rehearsals are recorded under Operations → Rehearsals."""

    model = Rehearsal
    extra = 0
    fields = ("kind", "performed_on", "minutes", "outcome", "notes")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ["slug", "name", "platform", "rollback_target_minutes", "last_build_number"]
    list_filter = ["platform"]
    search_fields = ["slug", "name"]
    inlines = [OnCallInline, RehearsalInline]
    readonly_fields = ["last_build_number"]
    fieldsets = [
        (None, {"fields": ["slug", "name", "platform", "signoff_roles"]}),
        (
            "Rollout and health",
            {
                "fields": [
                    "rollout_stages",
                    "health_error_rate",
                    "health_p95_latency_ms",
                    "health_rate_429",
                    "soak_minutes",
                ]
            },
        ),
        ("Operations", {"fields": ["runbook_url", "rollback_target_minutes", "rehearsal_window_days"]}),
        ("Versioning", {"fields": ["last_build_number"]}),
    ]


class SignOffInline(admin.TabularInline):
    model = SignOff
    extra = 0
    can_delete = False
    readonly_fields = ["role", "vote", "comment", "signed_by", "signed_at"]
    exclude = ["evidence", "evidence_fingerprint"]

    def has_add_permission(self, request, obj=None):
        return False


class DecisionInline(admin.TabularInline):
    model = Decision
    extra = 0
    can_delete = False
    readonly_fields = ["outcome", "rationale", "decided_by", "decided_at"]
    exclude = ["snapshot", "evidence_fingerprint"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Release)
class ReleaseAdmin(AuditedModelAdmin):
    """Releases change state only through the app's services, so the lifecycle fields
    are read-only here."""

    list_display = ["__str__", "product", "build_number", "state", "branch", "target_date", "owner"]
    list_filter = ["state", "product"]
    search_fields = ["version", "commit_sha", "branch", "product__slug"]
    list_select_related = ["product", "owner"]
    readonly_fields = [
        "product",
        "version",
        "build_number",
        "commit_sha",
        "state",
        "state_changed_at",
        "created_at",
    ]
    fields = [
        "product",
        "version",
        "build_number",
        "commit_sha",
        "branch",
        "target_date",
        "owner",
        "state",
        "state_changed_at",
        "created_at",
    ]
    inlines = [SignOffInline, DecisionInline]
    date_hierarchy = "created_at"
    actions = ["make_candidate"]

    @admin.action(description=gettext_lazy("Make the selected drafts release candidates"))
    def make_candidate(self, request, queryset):
        """The board's button for many drafts: the same service, the same rules (its owner
        or a PM/PO; a commit on record). Each refusal says which release and why."""
        done = 0
        for release in queryset.select_related("product").order_by("product__slug", "version"):
            try:
                release_promote(release=release, actor=request.user)
            except DomainError as error:
                words = _("Release %(release)s: %(reason)s") % {
                    "release": f"{release.product.slug} {release.version}",
                    "reason": error.message,
                }
                self.message_user(request, words, messages.ERROR)
            else:
                done += 1
        if done:
            words = ngettext(
                "%(count)s draft is now a release candidate.",
                "%(count)s drafts are now release candidates.",
                done,
            )
            self.message_user(request, words % {"count": done}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
