"""Operations readiness: on-call contacts, timed rehearsals, real rollbacks and rollout
health (PRODUCT §3, §4.5)."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from core.secrets import secret_env_errors
from core.validation import CI_LINK_PATTERN


class OnCallContact(models.Model):
    """Who answers for a role on a product when something breaks, and how to reach them."""

    product = models.ForeignKey(
        "releases.Product",
        on_delete=models.CASCADE,
        related_name="oncall_contacts",
        verbose_name=_("product"),
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    name = models.CharField(_("name"), max_length=150)
    contact = models.CharField(
        _("how to reach"), max_length=255, help_text=_("Phone, chat handle or e-mail.")
    )
    # When someone last confirmed the contact is right; empty: never reviewed. Contacts
    # not reviewed within the product's `contacts_review_days` block a release.
    reviewed_on = models.DateField(_("reviewed on"), null=True, blank=True)

    class Meta:
        verbose_name = _("on-call contact")
        verbose_name_plural = _("on-call contacts")
        ordering = ["product__slug", "role"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="oncall_role_valid"),
            models.UniqueConstraint(fields=["product", "role"], name="oncall_one_per_role"),
        ]

    def __str__(self) -> str:
        return f"{self.product.slug} {self.role}: {self.name}"


class RehearsalKind(models.TextChoices):
    RELEASE = "release", _("Release rehearsal")
    ROLLBACK = "rollback", _("Rollback rehearsal")


class RehearsalOutcome(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class Rehearsal(models.Model):
    product = models.ForeignKey(
        "releases.Product", on_delete=models.CASCADE, related_name="rehearsals", verbose_name=_("product")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=RehearsalKind.choices)
    performed_on = models.DateField(_("date"))
    minutes = models.PositiveIntegerField(_("minutes taken"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=RehearsalOutcome.choices)
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )

    class Meta:
        verbose_name = _("rehearsal")
        verbose_name_plural = _("rehearsals")
        ordering = ["-performed_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=RehearsalKind.values), name="rehearsal_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(outcome__in=RehearsalOutcome.values), name="rehearsal_outcome_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.slug} {self.kind} {self.performed_on}"


class Rollback(models.Model):
    """A real rollback of a release, with the minutes it took: the number Q3 of the weekly
    review sets beside the product's target, and DORA's time to restore."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.PROTECT, related_name="rollback", verbose_name=_("release")
    )
    product = models.ForeignKey(
        "releases.Product", on_delete=models.CASCADE, related_name="rollbacks", verbose_name=_("product")
    )
    minutes = models.PositiveIntegerField(_("minutes taken"))
    notes = models.TextField(_("notes"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("recorded by"),
    )
    rolled_back_at = models.DateTimeField(_("rolled back at"))

    class Meta:
        verbose_name = _("rollback")
        verbose_name_plural = _("rollbacks")
        ordering = ["-rolled_back_at", "-id"]

    def __str__(self) -> str:
        return f"{self.release} rollback ({self.minutes} min)"


class SourceKind(models.TextChoices):
    PROMETHEUS = "prometheus", _("Prometheus")
    SENTRY = "sentry", _("Sentry")


class HealthSource(models.Model):
    """Monitoring the product's health is read from while it rolls out (CONTRACT §6):
    Prometheus (one instant query per metric) or Sentry (crash-free sessions of the
    release). Tokens are named by their environment variable, never stored."""

    product = models.ForeignKey(
        "releases.Product", on_delete=models.CASCADE, related_name="health_sources", verbose_name=_("product")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=SourceKind.choices)
    # Looser than a URLField on purpose: monitoring is often an internal host such as
    # http://prometheus:9090 (the same rule as CI links, core.validation).
    url = models.CharField(
        _("URL"),
        max_length=200,
        validators=[RegexValidator(CI_LINK_PATTERN, _("Enter an http or https address."))],
    )
    token_env = models.CharField(_("token environment variable"), max_length=100, blank=True)
    interval_seconds = models.PositiveIntegerField(_("sampling interval (seconds)"), default=60)
    # Prometheus: metric → PromQL, with {version} {build} {product} filled in.
    queries = models.JSONField(_("queries"), default=dict, blank=True)
    # Sentry: organisation, project (id or slug) and the release name's template.
    org = models.CharField(_("organisation"), max_length=100, blank=True)
    project = models.CharField(_("project"), max_length=100, blank=True)
    release_template = models.CharField(
        _("release name"), max_length=200, blank=True, default="{product}@{version}+{build}"
    )
    active = models.BooleanField(_("active"), default=True)
    last_sampled_at = models.DateTimeField(_("last sampled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("health source")
        verbose_name_plural = _("health sources")
        ordering = ["product__slug", "kind"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=SourceKind.values), name="healthsource_kind_valid"
            ),
            models.UniqueConstraint(fields=["product", "kind"], name="healthsource_one_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.product.slug} {self.kind}"

    def clean(self) -> None:
        secret_env_errors(self, ["token_env"])


class HealthSample(models.Model):
    """One rollout health sample, pushed (`source` "push") or read from a monitoring
    source, with the bounds it broke and, for a source that did not answer, why it is
    inconclusive (`problems`: [{"metric", "code", "detail"}], worded per language when
    shown: docs/rollout.md)."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="health_samples", verbose_name=_("release")
    )
    error_rate = models.FloatField(_("error rate"), null=True, blank=True)
    p95_latency_ms = models.FloatField(_("p95 latency (ms)"), null=True, blank=True)
    rate_429 = models.FloatField(_("HTTP 429 rate"), null=True, blank=True)
    crash_free_sessions = models.FloatField(_("crash-free sessions"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=20, default="push")
    problems = models.JSONField(_("why inconclusive"), default=list, blank=True)
    sampled_at = models.DateTimeField(_("sampled at"))
    received_at = models.DateTimeField(_("received at"))
    breaches = models.JSONField(_("bounds broken"), default=list, blank=True)
    halted = models.BooleanField(_("halted the rollout"), default=False)

    class Meta:
        verbose_name = _("health sample")
        verbose_name_plural = _("health samples")
        ordering = ["-sampled_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(error_rate__isnull=True) | models.Q(error_rate__gte=0, error_rate__lte=1))
                & (models.Q(rate_429__isnull=True) | models.Q(rate_429__gte=0, rate_429__lte=1))
                & (
                    models.Q(crash_free_sessions__isnull=True)
                    | models.Q(crash_free_sessions__gte=0, crash_free_sessions__lte=1)
                ),
                name="healthsample_rates_are_fractions",
            )
        ]
        indexes = [models.Index(fields=["release", "-sampled_at"], name="healthsample_release_newest")]

    def __str__(self) -> str:
        return f"{self.release} health @ {self.sampled_at:%Y-%m-%d %H:%M}"

    @property
    def breach_text(self) -> str:
        """`error_rate 0.2 > 0.01, …`: the bounds it broke, as a halt reason says them."""
        return ", ".join(
            f"{b['metric']} {b['value']} {'<' if b.get('minimum') else '>'} {b['bound']}"
            for b in self.breaches
        )

    @property
    def inconclusive(self) -> bool:
        return bool(self.problems) and not self.breaches
