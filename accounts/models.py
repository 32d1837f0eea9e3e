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


class MembershipSource(models.TextChoices):
    MANUAL = "manual", _("given by hand")
    SSO = "sso", _("from single sign-on")


class RoleMembership(models.Model):
    """A user holds a role for one product, or for every product when `product` is empty.

    `source` says where it came from: single sign-on re-syncs only its own (`sso`) ones at
    every sign-in and never touches those given by hand."""

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
    source = models.CharField(
        _("source"), max_length=10, choices=MembershipSource.choices, default=MembershipSource.MANUAL
    )

    class Meta:
        verbose_name = _("role membership")
        verbose_name_plural = _("role memberships")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="rolemembership_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=MembershipSource.values), name="rolemembership_source_valid"
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


class SsoGroupRole(models.Model):
    """From the policy file's [sso] section: members of `group` (in the identity
    provider's groups claim) hold `role`, for `product` or for every product."""

    group = models.CharField(_("group"), max_length=200)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    product = models.ForeignKey(
        "releases.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="sso_group_roles",
        verbose_name=_("product"),
    )

    class Meta:
        verbose_name = _("single sign-on group role")
        verbose_name_plural = _("single sign-on group roles")
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="ssogrouprole_role_valid"),
            models.UniqueConstraint(
                fields=["group", "role"],
                condition=models.Q(product__isnull=True),
                name="ssogrouprole_unique_global",
            ),
            models.UniqueConstraint(
                fields=["group", "role", "product"],
                condition=models.Q(product__isnull=False),
                name="ssogrouprole_unique_per_product",
            ),
        ]

    def __str__(self) -> str:
        where = self.product.slug if self.product_id and self.product else "*"
        return f"{self.group} → {self.role} ({where})"


class SsoSettings(models.Model):
    """The one row of [sso] settings that are not a group mapping. An empty
    `groups_claim` means the GONOGO_OIDC_GROUPS_CLAIM setting (default "groups")."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    groups_claim = models.CharField(_("groups claim"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("single sign-on settings")
        verbose_name_plural = _("single sign-on settings")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="ssosettings_single_row")]

    def __str__(self) -> str:
        return f"groups claim: {self.groups_claim or '(default)'}"


class SsoIdentity(models.Model):
    """A person as the identity provider knows them: the ID token's issuer and subject.
    Sign-in finds people by this, never by a user name a provider sends."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sso_identities",
        verbose_name=_("user"),
    )
    issuer = models.CharField(_("issuer"), max_length=300)
    subject = models.CharField(_("subject"), max_length=255)
    created_at = models.DateTimeField(_("first sign-in"), auto_now_add=True)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="ssoidentity_unique_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ← {self.issuer} {self.subject}"


class Profile(models.Model):
    """A person's own settings. `time_zone` empty: not chosen yet, times are shown in the
    server's TIME_ZONE and the browser's zone is offered (static/js/time-zone.js)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile", verbose_name=_("user")
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        help_text=_("An IANA time zone name such as Asia/Seoul. Empty: the server's."),
    )

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or 'server time zone'})"
