"""Sign-offs from Slack (docs/slack.md): the channel each product asks in, the people
linked to Slack users, the asks posted, and every interaction Slack sent us (stored before
it is processed), with the replies sent back through its `response_url`."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

CHANNEL_ID = RegexValidator(
    r"^[CGD][A-Z0-9]{6,}$",
    _("A Slack channel id, like C0123456789 (in Slack: the channel's details, at the bottom)."),
)
USER_ID = RegexValidator(
    r"^[UW][A-Z0-9]{6,}$", _("A Slack user id, like U0123456789 (the person's profile, ⋮ → Copy member ID).")
)
TEAM_ID = RegexValidator(
    r"^(T[A-Z0-9]{6,})?$", _("A Slack workspace id, like T0123456789, or empty for any workspace.")
)


class SlackChannel(models.Model):
    """The Slack channel a product asks for its missing sign-offs in."""

    product = models.OneToOneField(
        "releases.Product", on_delete=models.CASCADE, related_name="slack_channel", verbose_name=_("product")
    )
    channel_id = models.CharField(_("Slack channel id"), max_length=20, validators=[CHANNEL_ID])
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("Slack channel")
        verbose_name_plural = _("Slack channels")

    def __str__(self) -> str:
        return f"{self.product_id}: {self.channel_id}"


class SlackLink(models.Model):
    """A Go/No-Go person is this Slack user: their button presses count as them. Made by an
    administrator only (audited): a Slack user id proves nothing until someone vouches."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="slack_link",
        verbose_name=_("person"),
    )
    slack_user_id = models.CharField(_("Slack user id"), max_length=20, validators=[USER_ID])
    team_id = models.CharField(_("Slack workspace id"), max_length=20, blank=True, validators=[TEAM_ID])

    class Meta:
        verbose_name = _("Slack link")
        verbose_name_plural = _("Slack links")
        constraints = [
            models.UniqueConstraint(fields=["slack_user_id", "team_id"], name="slack_link_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} = {self.slack_user_id}"


class SendStatus(models.TextChoices):
    PENDING = "pending", _("waiting to be sent")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")


class SlackAsk(models.Model):
    """One ask posted (or to be posted) with chat.postMessage: the missing roles then, and
    Slack's answer (`channel`, `ts`), or its error."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="slack_asks")
    channel_id = models.CharField(max_length=20)
    roles = models.JSONField(default=list)  # the roles asked (those missing at the time)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    asked_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=SendStatus.choices, default=SendStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=list)  # every attempt: at, status, ok, error
    error = models.CharField(max_length=100, blank=True)  # Slack's `error`, or ours
    message_ts = models.CharField(max_length=40, blank=True)
    posted_channel = models.CharField(max_length=20, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-asked_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="slack_ask_due")]

    def __str__(self) -> str:
        return f"ask {self.pk} for release {self.release_id}: {self.status}"


class InteractionStatus(models.TextChoices):
    RECEIVED = "received", _("received")
    RECORDED = "recorded", _("vote recorded")
    REFUSED = "refused", _("refused")
    IGNORED = "ignored", _("ignored")


class SlackInteraction(models.Model):
    """A verified request from Slack, stored before it is processed, and what came of it."""

    received_at = models.DateTimeField()
    body = models.TextField()
    # The signed request's fingerprint (its timestamp and body): the same request sent
    # again within the 5-minute window is a replay, answered and not processed.
    request_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    team_id = models.CharField(max_length=20, blank=True)
    slack_user_id = models.CharField(max_length=20, blank=True)
    action_id = models.CharField(max_length=255, blank=True)
    value = models.CharField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=InteractionStatus.choices, default=InteractionStatus.RECEIVED
    )
    outcome = models.TextField(blank=True)  # the refusal's words, or what was recorded
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signoff = models.ForeignKey(
        "releases.SignOff",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="slack_interactions",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"interaction {self.pk}: {self.status}"


class SlackReply(models.Model):
    """A message back to Slack through an interaction's `response_url` (ephemeral refusal,
    or the updated ask), sent after commit and retried."""

    interaction = models.ForeignKey(SlackInteraction, on_delete=models.CASCADE, related_name="replies")
    url = models.TextField()  # Slack's response_url: never shown, never logged
    body = models.JSONField()
    status = models.CharField(max_length=10, choices=SendStatus.choices, default=SendStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=list)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="slack_reply_due")]

    def __str__(self) -> str:
        return f"reply {self.pk}: {self.status}"
