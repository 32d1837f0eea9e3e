from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedModelAdmin, audit_snapshot
from audit.services import audit_record

from .models import (
    ApiToken,
    AppDelivery,
    AppInstallation,
    CommitStatusPost,
    Delivery,
    DeploymentRequest,
    Integration,
    PollCursor,
)
from .tasks import delivery_process_task


@admin.register(Integration)
class IntegrationAdmin(AuditedModelAdmin):
    list_display = ["slug", "provider", "product", "secret_env", "api_url", "active"]
    list_filter = ["provider", "product", "active"]
    search_fields = ["slug", "repository"]


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedModelAdmin):
    """Tokens are created by `issue_token` (the raw token is shown once there); here they
    are listed, their last use shown, and revoked."""

    list_display = ["name", "product", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["product", "revoked_at"]
    search_fields = ["name", "prefix"]
    readonly_fields = ["name", "product", "scopes", "prefix", "created_at", "last_used_at"]
    actions = ["revoke"]
    audit_secret_fields = frozenset({"token_hash"})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        now = timezone.now()
        with transaction.atomic():
            tokens = list(queryset.filter(revoked_at__isnull=True).select_for_update())
            for token in tokens:
                before = audit_snapshot(token, secret_fields=self.audit_secret_fields)
                token.revoked_at = now
                token.save(update_fields=["revoked_at"])
                audit_record(
                    actor=request.user,
                    action="token.revoke",
                    obj=token,
                    before=before,
                    after=audit_snapshot(token, secret_fields=self.audit_secret_fields),
                )
        count = len(tokens)
        self.message_user(request, _("%(n)s token(s) revoked.") % {"n": count}, messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The inbox: every delivery as received, with what processing made of it."""

    list_display = ["received_at", "source", "integration", "event", "key", "state", "release", "attempts"]
    list_filter = ["state", "source", "integration", "event"]
    search_fields = ["key", "head_sha", "head_branch", "version", "outcome"]
    readonly_fields = [f.name for f in Delivery._meta.fields if f.name != "body"] + ["body_text"]
    exclude = ["body"]
    actions = ["process_again"]

    @admin.display(description=_("raw body"))
    def body_text(self, obj: Delivery) -> str:
        return bytes(obj.body).decode("utf-8", errors="replace")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description=_("Process the selected deliveries again"))
    def process_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        ids = list(queryset.exclude(state__in=["applied", "ignored"]).values_list("pk", flat=True))
        for delivery_id in ids:
            delivery_process_task.delay(delivery_id)
        self.message_user(request, _("%(n)s delivery(ies) queued.") % {"n": len(ids)}, messages.SUCCESS)


@admin.register(PollCursor)
class PollCursorAdmin(admin.ModelAdmin):
    list_display = ["integration", "url", "last_status", "checked_at", "not_before", "failures"]
    list_filter = ["integration"]
    readonly_fields = [f.name for f in PollCursor._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


# The GitHub App (docs/github-app.md): what GitHub told us and what we answered, to read.


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(AppInstallation)
class AppInstallationAdmin(_ReadOnly):
    list_display = ["repository", "installation_id", "updated_at"]
    search_fields = ["repository"]


@admin.register(AppDelivery)
class AppDeliveryAdmin(_ReadOnly):
    list_display = ["received_at", "event", "action", "key", "state"]
    list_filter = ["state", "event"]
    search_fields = ["key", "outcome"]
    exclude = ["body"]
    readonly_fields = [f.name for f in AppDelivery._meta.fields if f.name != "body"]


@admin.register(DeploymentRequest)
class DeploymentRequestAdmin(_ReadOnly):
    list_display = [
        "requested_at",
        "repository",
        "environment",
        "run_id",
        "release",
        "state",
        "answer",
        "attempts",
    ]
    list_filter = ["state", "answer", "environment"]
    search_fields = ["repository", "sha", "comment", "last_error"]


@admin.register(CommitStatusPost)
class CommitStatusPostAdmin(_ReadOnly):
    list_display = ["repository", "sha", "release", "state", "posted_state", "posted_at", "last_status"]
    search_fields = ["repository", "sha", "description", "last_error"]
