"""Feature flags per product, the releases that ship them, their state as last read back
from the provider, and every Kill (docs/flags.md).

A flag names its provider: Unleash (admin API: its base URL, project, environment and
the variable that holds the API token) or a generic webhook signed per Standard Webhooks
(its URL and the variable that holds the `whsec_…` secret). Secrets are never stored:
only the names of the `GONOGO_*` variables that hold them.

Which releases ship a flag is `FlagShip` (the many-to-many between flags and releases):
by default a flag is attached to every release of its product created or promoted to
candidate while the flag is active (flags/signals.py); MANAGE_FLAGS attaches or detaches
it by hand, and a release detached by hand stays detached (`ships=False`).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_env_errors


class FlagProvider(models.TextChoices):
    UNLEASH = "unleash", _("Unleash")
    WEBHOOK = "webhook", _("Generic webhook")


class FlagState(models.TextChoices):
    ON = "on", _("on")
    OFF = "off", _("off")
    UNKNOWN = "unknown", _("unknown")


class Flag(models.Model):
    product = models.ForeignKey(
        "releases.Product", on_delete=models.CASCADE, related_name="flags", verbose_name=_("product")
    )
    key = models.CharField(
        _("key"),
        max_length=100,
        help_text=_("The flag's name at the provider."),
        # The policy file's rule (policy/parse/flags.py): it is part of the board's addresses.
        validators=[
            RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$", _("Letters, digits, . _ ~ - only."))
        ],
    )
    name = models.CharField(_("name"), max_length=200, blank=True)
    provider = models.CharField(_("provider"), max_length=10, choices=FlagProvider.choices)
    url = models.URLField(
        _("URL"), max_length=500, help_text=_("Unleash: its base URL. Webhook: where the kill is posted.")
    )
    project = models.CharField(_("Unleash project"), max_length=100, blank=True, default="default")
    environment = models.CharField(_("environment"), max_length=100, blank=True, default="production")
    token_env = models.CharField(
        _("token environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Unleash: the variable that holds an admin or service API token."),
    )
    secret_env = models.CharField(
        _("signing secret environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Webhook: the variable that holds the Standard Webhooks secret (whsec_…)."),
    )
    active = models.BooleanField(_("active"), default=True)
    # The state last read back from the provider (or told by its answer to a kill).
    state = models.CharField(_("state"), max_length=10, choices=FlagState.choices, default=FlagState.UNKNOWN)
    state_read_at = models.DateTimeField(_("state read at"), null=True, blank=True)
    state_error = models.TextField(_("read error"), blank=True)
    releases = models.ManyToManyField(
        "releases.Release", through="FlagShip", related_name="flags", verbose_name=_("releases"), blank=True
    )

    class Meta:
        verbose_name = _("feature flag")
        verbose_name_plural = _("feature flags")
        ordering = ["product_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["product", "key"], name="flag_key_unique_per_product"),
            models.CheckConstraint(
                condition=models.Q(provider__in=FlagProvider.values), name="flag_provider_valid"
            ),
            models.CheckConstraint(condition=models.Q(state__in=FlagState.values), name="flag_state_valid"),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def label(self) -> str:
        return self.name or self.key

    def clean(self) -> None:
        secret_env_errors(self, ["token_env", "secret_env"])
        if self.provider == FlagProvider.UNLEASH and not self.token_env:
            raise ValidationError({"token_env": _("Unleash needs the variable that holds its API token.")})
        if self.provider == FlagProvider.WEBHOOK and not self.secret_env:
            raise ValidationError(
                {"secret_env": _("A webhook needs the variable that holds its signing secret.")}
            )


class FlagShip(models.Model):
    """A flag attached to a release (`ships`), or detached from it by hand."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="ships")
    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="flag_ships")
    ships = models.BooleanField(_("ships"), default=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("flag in a release")
        verbose_name_plural = _("flags in releases")
        constraints = [models.UniqueConstraint(fields=["flag", "release"], name="flag_ship_unique")]

    def __str__(self) -> str:
        return f"{self.flag_id} in {self.release_id}: {'ships' if self.ships else 'detached'}"


class KillStatus(models.TextChoices):
    PENDING = "pending", _("under way")
    DONE = "done", _("switched off")
    FAILED = "failed", _("failed")


class Kill(models.Model):
    """One Kill: asked on the board, sent by a Celery task, retried, its outcome kept."""

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="kills")
    release = models.ForeignKey(
        "releases.Release", null=True, blank=True, on_delete=models.SET_NULL, related_name="flag_kills"
    )
    reason = models.TextField(_("reason"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    by_label = models.CharField(_("by"), max_length=150)
    message_id = models.CharField(max_length=64, unique=True)  # the webhook's `webhook-id`
    created_at = models.DateTimeField(_("asked at"))
    status = models.CharField(
        _("status"), max_length=10, choices=KillStatus.choices, default=KillStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    done_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    status_code = models.PositiveIntegerField(_("provider's status code"), null=True, blank=True)
    answer = models.TextField(_("provider's answer"), blank=True)
    error = models.TextField(_("error"), blank=True)
    # Every attempt: [{"n", "at", "status_code", "error"}].
    log = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = _("flag kill")
        verbose_name_plural = _("flag kills")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="kill_due")]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=KillStatus.values), name="kill_status_valid")
        ]

    def __str__(self) -> str:
        return f"kill {self.flag_id} ({self.status})"
