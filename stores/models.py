"""Models of the stores app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_env_errors, validate_secret_env_name

# ---------------------------------------------------------------------------------------
# Google Play (stores/play*.py, docs/google-play.md): a product's Play source, the steps
# sent to its track (one row per wanted state, run in order per release) and the track
# as last read back.
# ---------------------------------------------------------------------------------------


class PlaySource(models.Model):
    """Where a product's Android app is released: its package on Google Play, the track
    the board drives, and the variable that holds the service account's JSON key."""

    product = models.OneToOneField(
        "releases.Product", on_delete=models.CASCADE, related_name="play_source", verbose_name=_("product")
    )
    package_name = models.CharField(_("package name"), max_length=150)
    key_env = models.CharField(
        _("variable with the service account's JSON key"),
        max_length=100,
        validators=[validate_secret_env_name],
        help_text=_("The name of a GONOGO_… environment variable holding the JSON key, never the key."),
    )
    track = models.CharField(_("track"), max_length=60, default="production")
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("Google Play source")
        verbose_name_plural = _("Google Play sources")

    def __str__(self) -> str:
        return f"{self.package_name} ({self.track})"

    def clean(self) -> None:
        secret_env_errors(self, ["key_env"])


class PlayCallState(models.TextChoices):
    PENDING = "pending", _("waiting")
    RUNNING = "running", _("being sent")
    DONE = "done", _("done")
    FAILED = "failed", _("refused")
    SUPERSEDED = "superseded", _("replaced by a newer step")


class PlayStatus(models.TextChoices):
    """Release.status of the Android Publisher API (edits.tracks)."""

    IN_PROGRESS = "inProgress", _("rolling out")
    HALTED = "halted", _("halted")
    COMPLETED = "completed", _("completed")
    DRAFT = "draft", _("draft")


class PlayCall(models.Model):
    """One wanted state of the release on Play's track (from a rollout event), stored in
    the event's transaction and sent after commit: retried, every answer kept."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="play_calls", verbose_name=_("release")
    )
    source = models.ForeignKey(PlaySource, on_delete=models.CASCADE, related_name="calls")
    event = models.CharField(_("rollout step"), max_length=40)
    status = models.CharField(_("Play status wanted"), max_length=20, choices=PlayStatus.choices)
    user_fraction = models.FloatField(_("user fraction"), null=True, blank=True)
    version_code = models.CharField(_("version code"), max_length=20)
    state = models.CharField(
        _("state"), max_length=20, choices=PlayCallState.choices, default=PlayCallState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    last_error = models.TextField(_("last answer"), blank=True)
    answers = models.JSONField(_("answers"), default=list, blank=True)  # one entry per attempt
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("Google Play step")
        verbose_name_plural = _("Google Play steps")
        indexes = [
            models.Index(fields=["release", "state"], name="play_call_release_state_idx"),
            models.Index(fields=["state", "next_attempt_at"], name="play_call_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.status} ({self.state})"

    @property
    def percent(self) -> float | None:
        return round(self.user_fraction * 100, 2) if self.user_fraction is not None else None


class PlayTrackReading(models.Model):
    """Play's track as last read back for a release: the release's status and fraction
    there, when, and the difference from the board last announced (`store.drift`)."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="play_reading", verbose_name=_("release")
    )
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    status = models.CharField(_("Play status"), max_length=20, blank=True)  # "" : not on the track
    user_fraction = models.FloatField(_("user fraction"), null=True, blank=True)
    error = models.TextField(_("last read error"), blank=True)
    error_at = models.DateTimeField(_("last read error at"), null=True, blank=True)
    drift = models.CharField(_("difference announced"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("Google Play track reading")
        verbose_name_plural = _("Google Play track readings")

    def __str__(self) -> str:
        return f"{self.release_id}: {self.status or '—'} {self.user_fraction or ''}"

    @property
    def percent(self) -> float | None:
        return round(self.user_fraction * 100, 2) if self.user_fraction is not None else None

    @property
    def percent_text(self) -> str:
        """ "5", "0.5": for a data attribute ('' without a fraction)."""
        return f"{self.percent:g}" if self.percent is not None else ""


# --- end of Google Play ---
