"""The audit trail in the admin (read-only), and `AuditedModelAdmin`: every change made
in the admin to configuration that can change a verdict is an audit event.

The admin is a way around the app's services, so it gets its own record: create, change
and delete (one object, inline rows, a bulk delete, `list_editable`), each with a dict of
the object's fields before and after, in the transaction that makes the change. Fields
that hold a secret (a token's hash, a password) are never written down: the event says
only that they changed.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, router, transaction
from django.db.models import QuerySet
from django.forms import BaseFormSet, ModelForm
from django.http import HttpRequest

from .models import AuditEvent
from .services import audit_record

HIDDEN = "(hidden)"
CHANGED = "(changed)"


def audit_snapshot(obj: models.Model, *, secret_fields: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The object's concrete fields (foreign keys as ids) and many-to-many ids, as plain
    values; a secret field as a placeholder."""
    data: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        data[f.attname] = HIDDEN if f.name in secret_fields else getattr(obj, f.attname)
    if obj.pk is not None:
        for m2m in obj._meta.many_to_many:
            data[m2m.name] = sorted(getattr(obj, m2m.name).values_list("pk", flat=True))
    return data


def _secret_changes(
    before: models.Model | None, after: models.Model, secret_fields: frozenset[str]
) -> dict[str, str]:
    if before is None:
        return {}
    return {
        name: CHANGED
        for name in secret_fields
        if hasattr(after, name) and getattr(before, name) != getattr(after, name)
    }


class AuditedModelAdmin(admin.ModelAdmin):
    """A ModelAdmin whose every write is an audit event (`admin.create`, `admin.change`,
    `admin.delete`), with the admin user as the actor. Set `audit_secret_fields` to the
    fields whose values must never be recorded."""

    audit_secret_fields: frozenset[str] = frozenset()

    def _audit_db_copy(self, obj: models.Model) -> models.Model | None:
        if obj.pk is None:
            return None
        return type(obj)._default_manager.filter(pk=obj.pk).first()

    def _audit_secrets(self, model: type[models.Model]) -> frozenset[str]:
        """An inline's secret fields: set `audit_secret_fields` on the inline class."""
        for inline in self.inlines:
            if inline.model is model:
                return frozenset(getattr(inline, "audit_secret_fields", frozenset()))
        return frozenset()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before_obj = self._audit_db_copy(obj) if change else None
        secrets = self.audit_secret_fields
        before = audit_snapshot(before_obj, secret_fields=secrets) if before_obj is not None else None
        super().save_model(request, obj, form, change)
        # Many-to-many values are saved after the object (save_related): the event is
        # written there, once the object is whole.
        pending = getattr(request, "_audit_pending", {})
        pending[(type(obj), obj.pk)] = (before, _secret_changes(before_obj, obj, secrets), change)
        request._audit_pending = pending  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        obj = form.instance
        pending = getattr(request, "_audit_pending", {})
        entry = pending.pop((type(obj), obj.pk), None)
        if entry is None:
            return
        before, secret_changes, was_change = entry
        after = {**audit_snapshot(obj, secret_fields=self.audit_secret_fields), **secret_changes}
        if was_change and before == after:
            return
        with transaction.atomic(using=router.db_for_write(type(obj))):
            audit_record(
                actor=request.user,
                action="admin.change" if was_change else "admin.create",
                obj=obj,
                before=before,
                after=after,
            )

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: BaseFormSet, change: bool) -> None:
        model = formset.model  # type: ignore[attr-defined]
        secrets = self._audit_secrets(model)
        existing = [f.instance.pk for f in formset.initial_forms if f.instance.pk is not None]
        befores = {o.pk: o for o in model._default_manager.filter(pk__in=existing)}
        deleted = [f.instance.pk for f in formset.deleted_forms if f.instance.pk in befores]
        with transaction.atomic(using=router.db_for_write(model)):
            # Deleted rows are recorded first: once deleted, an object has no id to name.
            for pk in deleted:
                audit_record(
                    actor=request.user,
                    action="admin.delete",
                    obj=befores[pk],
                    before=audit_snapshot(befores[pk], secret_fields=secrets),
                )
            super().save_formset(request, form, formset, change)
            for obj in formset.new_objects:  # type: ignore[attr-defined]
                audit_record(
                    actor=request.user,
                    action="admin.create",
                    obj=obj,
                    after=audit_snapshot(obj, secret_fields=secrets),
                )
            for obj, _fields in formset.changed_objects:  # type: ignore[attr-defined]
                old = befores.get(obj.pk)
                audit_record(
                    actor=request.user,
                    action="admin.change",
                    obj=obj,
                    before=audit_snapshot(old, secret_fields=secrets) if old is not None else None,
                    after={
                        **audit_snapshot(obj, secret_fields=secrets),
                        **_secret_changes(old, obj, secrets),
                    },
                )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic(using=router.db_for_write(type(obj))):
            audit_record(
                actor=request.user,
                action="admin.delete",
                obj=obj,
                before=audit_snapshot(obj, secret_fields=self.audit_secret_fields),
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        with transaction.atomic(using=router.db_for_write(queryset.model)):
            for obj in queryset:
                audit_record(
                    actor=request.user,
                    action="admin.delete",
                    obj=obj,
                    before=audit_snapshot(obj, secret_fields=self.audit_secret_fields),
                )
            super().delete_queryset(request, queryset)


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, here as in the database."""

    list_display = ["at", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action", "object_type", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor_label", "object_repr", "action", "object_id"]
    date_hierarchy = "at"
    list_select_related = ["actor"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
