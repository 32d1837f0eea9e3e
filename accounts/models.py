"""Role membership: who may act as PM/PO, QA, a lead or DevOps, globally or per product."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PM = "pm", _("PM/PO")
    QA = "qa", _("QA")
    MOBILE_LEAD = "mobile_lead", _("Mobile Lead")
    BACKEND_LEAD = "backend_lead", _("Backend Lead")
    DEVOPS = "devops", _("DevOps")


class RoleMembership(models.Model):
    """A user holds a role for one product, or for every product when `product` is empty."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="role_memberships",
        verbose_name=_("user"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    product = models.ForeignKey(
        "releases.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="role_memberships",
        verbose_name=_("product"),
        help_text=_("Leave empty for every product."),
    )

    class Meta:
        verbose_name = _("role membership")
        verbose_name_plural = _("role memberships")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="rolemembership_role_valid"
            ),
            models.UniqueConstraint(
                fields=["user", "role"],
                condition=models.Q(product__isnull=True),
                name="rolemembership_unique_global",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "product"],
                condition=models.Q(product__isnull=False),
                name="rolemembership_unique_per_product",
            ),
        ]

    def __str__(self) -> str:
        where = self.product.slug if self.product_id and self.product else _("all products")
        return f"{self.user} — {self.get_role_display()} ({where})"
