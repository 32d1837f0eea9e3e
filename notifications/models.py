"""Alert channels (a Slack-compatible incoming webhook, a generic webhook signed per
Standard Webhooks, e-mail, PagerDuty Events API v2), what each one is sent, and every
attempt to send it (CONTRACT §6, docs/alerts.md).

Webhook URLs, signing secrets and routing keys are secrets, so a channel names the
environment variable that holds each.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_env_errors


class ChannelKind(models.TextChoices):
    SLACK = "slack", _("Slack-compatible webhook")
    WEBHOOK = "webhook", _("Generic webhook")
    EMAIL = "email", _("E-mail")
    PAGERDUTY = "pagerduty", _("PagerDuty")


class Channel(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ChannelKind.choices)
    url_env = models.CharField(
        _("URL environment variable"),
        max_length=100,
        blank=True,
        help_text=_("For webhooks: the variable that holds the URL."),
    )
    secret_env = models.CharField(
        _("signing secret environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Generic webhooks: the variable that holds the Standard Webhooks secret (whsec_…)."),
    )
    routing_key_env = models.CharField(
        _("routing key environment variable"),
        max_length=100,
        blank=True,
        help_text=_("PagerDuty: the variable that holds the integration's routing key."),
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    # The events sent to this channel (CONTRACT §6); empty: every event.
    events = models.JSONField(_("events"), default=list, blank=True)
    products = models.ManyToManyField(
        "releases.Product",
        blank=True,
        related_name="channels",
        verbose_name=_("products"),
        help_text=_("Leave empty for every product."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("alert channel")
        verbose_name_plural = _("alert channels")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ChannelKind.values), name="channel_kind_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="email", email="")
                & ~models.Q(kind="pagerduty", routing_key_env="")
                & (models.Q(kind__in=["email", "pagerduty"]) | ~models.Q(url_env="")),
                name="channel_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        secret_env_errors(self, ["url_env", "secret_env", "routing_key_env"])

    def wants(self, event: str, product_id: int | None) -> bool:
        """Whether this channel is sent `event` about the product (None: no product)."""
        if not self.active:
            return False
        if self.events and event not in self.events and not self._resolves(event):
            return False
        products = {p.pk for p in self.products.all()}
        return not products or product_id is None or product_id in products

    def _resolves(self, event: str) -> bool:
        """PagerDuty: an incident a subscribed event opens is always resolved, whatever
        `events` lists (docs/alerts.md)."""
        return (
            self.kind == ChannelKind.PAGERDUTY
            and event in PAGERDUTY_RESOLVES
            and any(e in PAGERDUTY_TRIGGERS for e in self.events)
        )


# The events a PagerDuty channel opens an incident on, and those that resolve it.
PAGERDUTY_TRIGGERS = ("rollout.halted", "health.breach", "flag.kill_failed")
PAGERDUTY_RESOLVES = ("rollout.resumed", "rollback.recorded", "rollout.completed")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """One event for one channel: stored in the transaction that made the event, sent by
    Celery after commit, retried with backoff until sent or out of attempts."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=40)
    # The Standard Webhooks `webhook-id`, the same on every attempt (receivers dedupe on it).
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    product = models.ForeignKey(
        "releases.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    release = models.ForeignKey(
        "releases.Release", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(_("data"), default=dict, encoder=DjangoJSONEncoder)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("alert delivery")
        verbose_name_plural = _("alert deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values), name="delivery_status_valid"
            )
        ]
        indexes = [
            models.Index(fields=["channel", "-created_at"], name="delivery_channel_newest"),
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.slug} {self.event} ({self.status})"


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: what the channel answered, or why it could not."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    ok = models.BooleanField(_("delivered"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("took (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="deliveryattempt_once_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.delivery} #{self.number}"
