from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from audit.admin import AuditedModelAdmin

from .models import RoleMembership, SsoGroupRole, SsoIdentity

User = get_user_model()


class RoleMembershipInline(admin.TabularInline):
    model = RoleMembership
    extra = 1
    autocomplete_fields = ["product"]


@admin.register(RoleMembership)
class RoleMembershipAdmin(AuditedModelAdmin):
    list_display = ["user", "role", "product", "source"]
    list_filter = ["role", "product", "source"]
    search_fields = ["user__username", "user__email"]
    autocomplete_fields = ["user", "product"]


admin.site.unregister(User)


@admin.register(User)
class PeopleAdmin(AuditedModelAdmin, UserAdmin):
    audit_secret_fields = frozenset({"password"})
    inlines = [RoleMembershipInline]
    list_display = ["username", "email", "first_name", "last_name", "roles", "is_active", "is_staff"]

    @admin.display(description="roles")
    def roles(self, obj: object) -> str:
        memberships = obj.role_memberships.all()  # type: ignore[attr-defined]
        return ", ".join(sorted({m.role for m in memberships})) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("role_memberships")


@admin.register(SsoIdentity)
class SsoIdentityAdmin(AuditedModelAdmin):
    """Who a person is at the identity provider; add one to link a local account."""

    list_display = ["user", "issuer", "subject", "created_at"]
    search_fields = ["user__username", "subject"]
    autocomplete_fields = ["user"]


@admin.register(SsoGroupRole)
class SsoGroupRoleAdmin(AuditedModelAdmin):
    """The policy file's [sso] rules (apply_policy keeps them)."""

    list_display = ["group", "role", "product"]
    list_filter = ["role", "product"]
