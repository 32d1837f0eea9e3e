"""Models of the stores app."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.secrets import secret_env_errors, validate_secret_env_name

# --- App Store Connect (docs/app-store.md) --------------------------------------------
# A product's App Store Connect API key (named by its environment variable), the phased
# release as Apple last told it per release, and each change the board wants of it.


class AppStoreSource(models.Model):
    """One product's App Store Connect API key and app: what the board reads and drives."""

    product = models.OneToOneField(
        "releases.Product",
        on_delete=models.CASCADE,
        related_name="appstore_source",
        verbose_name=_("product"),
    )
    issuer_id = models.CharField(
        _("issuer ID"), max_length=64, help_text=_("Users and Access → Integrations → App Store Connect API.")
    )
    key_id = models.CharField(_("key ID"), max_length=32)
    private_key_env = models.CharField(
        _("private key environment variable"),
        max_length=100,
        validators=[validate_secret_env_name],
        help_text=_("The variable that holds the .p8 key's PEM text."),
    )
    app_id = models.CharField(_("Apple ID of the app"), max_length=32)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("App Store Connect source")
        verbose_name_plural = _("App Store Connect sources")
        ordering = ["product__slug"]

    def __str__(self) -> str:
        return f"App Store {self.app_id}"

    def clean(self) -> None:
        secret_env_errors(self, ["private_key_env"])


class AppStorePhaseState(models.TextChoices):
    INACTIVE = "INACTIVE", _("Not started")
    ACTIVE = "ACTIVE", _("Releasing in phases")
    PAUSED = "PAUSED", _("Paused")
    COMPLETE = "COMPLETE", _("Released to everyone")


class AppStorePhasedRelease(models.Model):
    """What App Store Connect last said of a release's version and its phased release
    (read back on a schedule and after each change), and the drift from the board."""

    release = models.OneToOneField(
        "releases.Release", on_delete=models.CASCADE, related_name="appstore_phased_release"
    )
    version_id = models.CharField(_("App Store version ID"), max_length=64, blank=True)
    phased_release_id = models.CharField(_("phased release ID"), max_length=64, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=AppStorePhaseState.choices, blank=True)
    current_day = models.PositiveSmallIntegerField(_("day"), null=True, blank=True)
    start_date = models.DateTimeField(_("started"), null=True, blank=True)
    total_pause_days = models.PositiveSmallIntegerField(_("days paused"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Why the last read failed, in Apple's words when Apple answered ("" : it worked).
    read_error = models.TextField(_("last read error"), blank=True)
    # The difference from the board ("" : none), as Apple's state and the board's
    # (`PAUSED/rolling_out`): the board says it in words; a new one is alerted once.
    drift_key = models.CharField(_("drift"), max_length=40, blank=True)
    drift_since = models.DateTimeField(_("drift since"), null=True, blank=True)

    class Meta:
        verbose_name = _("App Store phased release")
        verbose_name_plural = _("App Store phased releases")

    def __str__(self) -> str:
        return f"{self.release} {self.state or '?'}"


class AppStoreChangeStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    REFUSED = "refused", _("Refused by Apple")
    REPLACED = "replaced", _("Replaced by a newer change")


class AppStoreChange(models.Model):
    """One change the board wants of Apple's phased release (pause, resume, complete),
    stored with the step that wanted it, sent after commit, retried until answered."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="appstore_changes")
    wanted = models.CharField(_("wanted state"), max_length=10, choices=AppStorePhaseState.choices)
    # Why: the rollout event (`rollout.halted`, …) or `button`.
    origin = models.CharField(_("origin"), max_length=40)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=AppStoreChangeStatus.choices, default=AppStoreChangeStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # While a worker sends it (a newer change of the release waits until then).
    claimed_until = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    # The last answer: Apple's HTTP status and words (title — detail), or why there was none.
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)

    class Meta:
        verbose_name = _("App Store change")
        verbose_name_plural = _("App Store changes")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=AppStoreChangeStatus.values), name="appstorechange_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(wanted__in=["ACTIVE", "PAUSED", "COMPLETE"]),
                name="appstorechange_wanted_valid",
            ),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="appstorechange_due")]

    def __str__(self) -> str:
        return f"{self.release} → {self.wanted} ({self.status})"


class AppStoreChangeAttempt(models.Model):
    """One try at a change: what Apple answered, or why there was no answer."""

    change = models.ForeignKey(AppStoreChange, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField(_("attempt"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    ok = models.BooleanField(_("done"))
    status_code = models.PositiveSmallIntegerField(_("HTTP status"), null=True, blank=True)
    answer = models.TextField(_("answer"), blank=True)
    duration_ms = models.PositiveIntegerField(_("took (ms)"), default=0)

    class Meta:
        verbose_name = _("App Store change attempt")
        verbose_name_plural = _("App Store change attempts")
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["change", "number"], name="appstorechangeattempt_once_per_number")
        ]

    def __str__(self) -> str:
        return f"{self.change} #{self.number}"


# --- end App Store Connect ----------------------------------------------------------------
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
