"""Alert channels: a Slack-compatible incoming webhook, a generic webhook, or e-mail.

Webhook URLs carry secrets, so a channel names the environment variable that holds it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_env_errors


class ChannelKind(models.TextChoices):
    SLACK = "slack", _("Slack-compatible webhook")
    WEBHOOK = "webhook", _("Generic webhook")
    EMAIL = "email", _("E-mail")


class Channel(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ChannelKind.choices)
    url_env = models.CharField(
        _("URL environment variable"),
        max_length=100,
        blank=True,
        help_text=_("For webhooks: the variable that holds the URL."),
    )
    email = models.EmailField(_("e-mail address"), blank=True)
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
                & (models.Q(kind="email") | ~models.Q(url_env="")),
                name="channel_has_target",
            ),
        ]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        secret_env_errors(self, ["url_env"])
