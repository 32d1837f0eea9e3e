"""The audit trail: who did what to which object, when, before → after. Append-only.

On PostgreSQL triggers refuse UPDATE and DELETE (migration 0002) and TRUNCATE (0003) on
this table, as on the evidence tables (decisions, sign-offs, gate results).
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditJSONEncoder(DjangoJSONEncoder):
    """Dates, decimals and UUIDs as Django does; a model instance as its string form."""

    def default(self, o: object) -> object:
        if isinstance(o, models.Model):
            return str(o)
        return super().default(o)


class AuditEvent(models.Model):
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(
        _("actor label"), max_length=150, help_text=_("User name, or the system that acted.")
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=255)
    # A plain reference, not a foreign key: the trail outlives what it describes.
    release_id = models.BigIntegerField(_("release id"), null=True, blank=True, db_index=True)
    before = models.JSONField(_("before"), null=True, blank=True, encoder=AuditJSONEncoder)
    after = models.JSONField(_("after"), null=True, blank=True, encoder=AuditJSONEncoder)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
