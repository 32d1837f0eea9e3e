"""A CI integration: where results come from for one product, and how CI names map to gates.

The webhook secret is never stored: `secret_env` names the environment variable that holds it.
"""

from __future__ import annotations

import fnmatch
import os

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Provider(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    JENKINS = "jenkins", "Jenkins"
    GENERIC = "generic", _("Generic API")


class Integration(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    provider = models.CharField(_("provider"), max_length=10, choices=Provider.choices)
    product = models.ForeignKey(
        "releases.Product", on_delete=models.CASCADE, related_name="integrations", verbose_name=_("product")
    )
    secret_env = models.CharField(
        _("secret environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Name of the environment variable that holds the webhook secret."),
    )
    gate_patterns = models.JSONField(
        _("CI name → gate"),
        default=dict,
        blank=True,
        help_text=_('Shell-style patterns, for example {"lint*": "typecheck"}.'),
    )
    api_url = models.URLField(_("API base URL"), blank=True, help_text=_("For polling."))
    repository = models.CharField(
        _("repository"), max_length=255, blank=True, help_text=_("owner/name, or a GitLab project id.")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("integration")
        verbose_name_plural = _("integrations")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(provider__in=Provider.values), name="integration_provider_valid"
            )
        ]

    def __str__(self) -> str:
        return self.slug

    def secret(self) -> str:
        """The webhook secret from the environment ('' when unset: every signature fails)."""
        if not self.secret_env:
            return ""
        return os.environ.get(self.secret_env) or settings.GONOGO_SECRET_DEFAULTS.get(self.secret_env, "")

    def gate_for(self, ci_name: str) -> str | None:
        """The gate key a CI check or job name maps to; the first matching pattern wins."""
        for pattern, gate_key in self.gate_patterns.items():
            if fnmatch.fnmatchcase(ci_name.lower(), pattern.lower()):
                return str(gate_key)
        return None
