"""A CI integration: where results come from for one product, and how CI names map to gates.

The webhook secret is never stored: `secret_env` names the environment variable that holds it.
"""

from __future__ import annotations

import fnmatch

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_env_errors, secret_from_env


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
    api_token_env = models.CharField(
        _("API token environment variable"),
        max_length=100,
        blank=True,
        help_text=_("Name of the environment variable that holds the token used for polling."),
    )
    repository = models.CharField(
        _("repository"), max_length=255, blank=True, help_text=_("owner/name, or a GitLab project id.")
    )
    active = models.BooleanField(_("active"), default=True)
    # GitHub App (docs/github-app.md): the environments whose deployments wait for the Go.
    deploy_environments = models.JSONField(
        _("environments gated by the Go"),
        default=list,
        blank=True,
        help_text=_('GitHub environments whose deployments wait for the Go; empty: ["production"].'),
    )

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

    def clean(self) -> None:
        # In clean(), not as field validators, so the rule needs no migration of its own.
        secret_env_errors(self, ["secret_env", "api_token_env"])

    def secret(self) -> str:
        """The webhook secret from the environment ('' when unset, or when the name is not a
        GONOGO_ secret variable: every signature fails)."""
        return secret_from_env(self.secret_env, owner=f"integration {self.slug}", demo_default=True)

    def api_token(self) -> str:
        """The polling credential from the environment ('' when unset or not allowed)."""
        return secret_from_env(self.api_token_env, owner=f"integration {self.slug}")

    def gated_environments(self) -> list[str]:
        return [str(e) for e in self.deploy_environments] or ["production"]

    def gate_for(self, ci_name: str) -> str | None:
        """The gate key a CI check or job name maps to; the first matching pattern wins."""
        for pattern, gate_key in self.gate_patterns.items():
            if fnmatch.fnmatchcase(ci_name.lower(), pattern.lower()):
                return str(gate_key)
        return None


class TokenScope(models.TextChoices):
    RESULTS = "results", _("Report results and releases")
    VERDICT = "verdict", _("Read releases and verdicts")
    METRICS = "metrics", _("Post rollout health")


class ApiToken(models.Model):
    """A bearer token for one product's pipelines. Only a SHA-256 of the token is kept:
    the token itself is shown once, by `issue_token`."""

    name = models.CharField(_("name"), max_length=100)
    product = models.ForeignKey(
        "releases.Product", on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("product")
    )
    scopes = models.JSONField(_("scopes"), default=list)
    prefix = models.CharField(_("starts with"), max_length=16, help_text=_("To recognise the token."))
    token_hash = models.CharField(_("hash"), max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"))
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(
        _("revoked at"), null=True, blank=True, help_text=_("Set to refuse the token from now on.")
    )

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["product__slug", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class DeliverySource(models.TextChoices):
    GITHUB = "github", "GitHub"
    GITLAB = "gitlab", "GitLab"
    API = "api", _("Results API")


class DeliveryState(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    APPLIED = "applied", _("Applied")
    IGNORED = "ignored", _("Recorded, nothing to change")
    WAITING = "waiting", _("Waiting for its release")
    FAILED = "failed", _("Failed")


class Delivery(models.Model):
    """The inbox: every accepted webhook (and every result for a release that does not
    exist yet), stored raw before it is processed, with the outcome of processing."""

    source = models.CharField(_("source"), max_length=10, choices=DeliverySource.choices)
    integration = models.ForeignKey(
        Integration,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("integration"),
    )
    product = models.ForeignKey(
        "releases.Product",
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("product"),
        db_index=False,  # (product, state) below serves; one index less on every delivery
    )
    event = models.CharField(_("event"), max_length=50, blank=True)
    key = models.CharField(
        _("delivery id"),
        max_length=200,
        blank=True,
        help_text=_("Redelivery of the same id changes nothing."),
    )
    headers = models.JSONField(_("headers"), default=dict)
    body = models.BinaryField(_("raw body"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    state = models.CharField(
        _("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.RECEIVED
    )
    outcome = models.TextField(_("outcome"), blank=True)
    attempts = models.PositiveIntegerField(_("processing attempts"), default=0)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)
    # What a waiting delivery needs to find its release once it exists.
    head_sha = models.CharField(_("head commit"), max_length=64, blank=True)
    head_branch = models.CharField(_("head branch"), max_length=255, blank=True)
    version = models.CharField(_("version"), max_length=64, blank=True)
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        verbose_name=_("release"),
    )

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-received_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=DeliverySource.values), name="delivery_source_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=DeliveryState.values), name="delivery_state_valid"
            ),
            models.UniqueConstraint(
                fields=["source", "product", "key"], condition=~models.Q(key=""), name="delivery_unique_key"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "state"], name="delivery_waiting_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.event} {self.key or self.pk}"


class PollCursor(models.Model):
    """What polling one provider URL last saw: its ETag, and when it may be asked again
    (rate limits and Retry-After are honoured here)."""

    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="poll_cursors", verbose_name=_("integration")
    )
    url = models.CharField(_("URL"), max_length=1000)
    etag = models.CharField(_("ETag"), max_length=255, blank=True)
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)
    not_before = models.DateTimeField(_("not before"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    next_url = models.CharField(_("next page"), max_length=1000, blank=True)
    # Rate limits are per credential and host; a hold with `holds_all` stops every URL that
    # shares it (`credential`: a hash of the host and token, never the token).
    credential = models.CharField(_("credential"), max_length=64, blank=True, db_index=True)
    holds_all = models.BooleanField(_("holds the whole credential"), default=False)
    leased_until = models.DateTimeField(_("being asked until"), null=True, blank=True)

    class Meta:
        verbose_name = _("poll cursor")
        verbose_name_plural = _("poll cursors")
        constraints = [models.UniqueConstraint(fields=["integration", "url"], name="pollcursor_unique_url")]

    def __str__(self) -> str:
        return self.url


# The GitHub App (docs/github-app.md): which installation serves a repository, the App's
# webhook deliveries, the deployments waiting on our protection rule, and the `gonogo`
# commit status per release and commit.


class AppInstallation(models.Model):
    """The App's installation id for one repository (`owner/name`, lower case), from the
    webhooks GitHub sends the App."""

    repository = models.CharField(_("repository"), max_length=255, unique=True)
    installation_id = models.BigIntegerField(_("installation id"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("GitHub App installation")
        verbose_name_plural = _("GitHub App installations")
        ordering = ["repository"]

    def __str__(self) -> str:
        return self.repository


class AppDeliveryState(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    PROCESSED = "processed", _("Processed")
    IGNORED = "ignored", _("Recorded, nothing to do")
    FAILED = "failed", _("Failed")


class AppDelivery(models.Model):
    """A webhook delivery to the GitHub App, stored raw (signature checked) before anything
    reads it."""

    key = models.CharField(_("delivery id"), max_length=100, unique=True)
    event = models.CharField(_("event"), max_length=50, blank=True)
    action = models.CharField(_("action"), max_length=50, blank=True)
    headers = models.JSONField(_("headers"), default=dict)
    body = models.BinaryField(_("raw body"))
    received_at = models.DateTimeField(_("received at"), db_index=True)
    state = models.CharField(
        _("state"), max_length=10, choices=AppDeliveryState.choices, default=AppDeliveryState.RECEIVED
    )
    outcome = models.TextField(_("outcome"), blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("GitHub App delivery")
        verbose_name_plural = _("GitHub App deliveries")
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event}.{self.action} {self.key}"


class DeployState(models.TextChoices):
    WAITING = "waiting", _("Waiting for the Go call")
    ANSWERING = "answering", _("Answer being sent")
    ANSWERED = "answered", _("Answered")
    FAILED = "failed", _("Could not be answered")


class DeploymentRequest(models.Model):
    """A deployment GitHub holds until our protection rule answers (`approved` only while
    a Go stands)."""

    delivery = models.OneToOneField(
        AppDelivery, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("delivery")
    )
    integration = models.ForeignKey(
        Integration, on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("integration")
    )
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deployment_requests",
        verbose_name=_("release"),
    )
    repository = models.CharField(_("repository"), max_length=255)
    environment = models.CharField(_("environment"), max_length=255)
    sha = models.CharField(_("commit"), max_length=64, blank=True)
    ref = models.CharField(_("ref"), max_length=255, blank=True)
    run_id = models.BigIntegerField(_("workflow run"), null=True, blank=True)
    callback_url = models.CharField(_("callback"), max_length=1000, blank=True)
    installation_id = models.BigIntegerField(_("installation id"), null=True, blank=True)
    requested_at = models.DateTimeField(_("requested at"))
    state = models.CharField(_("state"), max_length=10, choices=DeployState.choices)
    answer = models.CharField(_("answer"), max_length=10, blank=True)  # approved | rejected
    comment = models.TextField(_("comment"), blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("deployment request")
        verbose_name_plural = _("deployment requests")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["state", "release"], name="deployreq_state_idx")]

    def __str__(self) -> str:
        return f"{self.repository} {self.environment} run {self.run_id}"


class CommitStatusPost(models.Model):
    """The `gonogo` status wanted on a release's commit, and what GitHub was last told."""

    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.CASCADE,
        related_name="commit_statuses",
        verbose_name=_("release"),
    )
    sha = models.CharField(_("commit"), max_length=64)
    repository = models.CharField(_("repository"), max_length=255)
    state = models.CharField(_("state"), max_length=10)  # success | failure
    description = models.CharField(_("description"), max_length=140)
    target_url = models.CharField(_("link"), max_length=1000, blank=True)
    posted_state = models.CharField(_("posted state"), max_length=10, blank=True)
    posted_description = models.CharField(_("posted description"), max_length=140, blank=True)
    posted_at = models.DateTimeField(_("posted at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last HTTP status"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("commit status")
        verbose_name_plural = _("commit statuses")
        constraints = [models.UniqueConstraint(fields=["release", "sha"], name="commitstatus_unique")]

    def __str__(self) -> str:
        return f"{self.repository}@{self.sha[:10]} {self.state}"

    @property
    def due(self) -> bool:
        return (self.state, self.description) != (self.posted_state, self.posted_description)
