"""Gates, the results CI reports for them, and waivers (PRODUCT §3)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from releases.models import same_commit

CRITICAL_BUGS = "critical-bugs"
CORE_SCENARIOS = "core-scenarios"


class Phase(models.TextChoices):
    PRE_RELEASE = "pre_release", _("Before release")
    POST_DEPLOY = "post_deploy", _("After deploy")


class Evaluation(models.TextChoices):
    """Where a gate's status comes from."""

    CI = "ci", _("Reported by CI")
    DEFECTS = "defects", _("Open critical defects")
    CHECKLIST = "checklist", _("Core checklist items")


class Gate(models.Model):
    """A named check a release must pass. With no products chosen it applies to all."""

    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(
        _("in plain words"), blank=True, help_text=_("What this gate checks, for a non-developer.")
    )
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.PRE_RELEASE)
    blocking = models.BooleanField(_("blocks the release"), default=True)
    waivable = models.BooleanField(_("may be waived"), default=False)
    owner_role = models.CharField(_("owner role"), max_length=20, choices=Role.choices)
    evaluation = models.CharField(
        _("status comes from"), max_length=20, choices=Evaluation.choices, default=Evaluation.CI
    )
    allow_failure_passes = models.BooleanField(
        _("an allowed-to-fail CI job does not fail it"),
        default=False,
        help_text=_("GitLab jobs with allow_failure: true."),
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    products = models.ManyToManyField(
        "releases.Product",
        blank=True,
        related_name="gates",
        verbose_name=_("products"),
        help_text=_("Leave empty for every product."),
    )

    class Meta:
        verbose_name = _("gate")
        verbose_name_plural = _("gates")
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(condition=models.Q(phase__in=Phase.values), name="gate_phase_valid"),
            models.CheckConstraint(
                condition=models.Q(owner_role__in=Role.values), name="gate_owner_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(evaluation__in=Evaluation.values), name="gate_evaluation_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(key=CRITICAL_BUGS, waivable=True),
                name="gate_critical_bugs_never_waivable",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ResultStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    RUNNING = "running", _("Running")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
    ERROR = "error", _("Error")
    SKIPPED = "skipped", _("Skipped")


class ResultSource(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    POLL = "poll", _("Polling")
    API = "api", _("API")
    MANUAL = "manual", _("Manual")


class GateResult(models.Model):
    """One observation of a gate for a release at a commit. Results are never edited:
    the gate's current status is the newest result for the release's current commit."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="gate_results", verbose_name=_("release")
    )
    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="results", verbose_name=_("gate"))
    commit_sha = models.CharField(_("commit"), max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ResultStatus.choices)
    source = models.CharField(_("source"), max_length=10, choices=ResultSource.choices)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    summary = models.CharField(_("summary"), max_length=500, blank=True)
    check_name = models.CharField(
        _("CI check or job"),
        max_length=200,
        blank=True,
        help_text=_("Several CI jobs may feed one gate; each keeps its own newest result."),
    )
    run_id = models.CharField(_("run id"), max_length=200, blank=True)
    run_attempt = models.PositiveIntegerField(_("run attempt"), default=1)
    observed_at = models.DateTimeField(_("observed at"), help_text=_("When CI says it happened."))
    received_at = models.DateTimeField(_("received at"))
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reporter_label = models.CharField(_("reported through"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("gate result")
        verbose_name_plural = _("gate results")
        ordering = ["-observed_at", "-run_attempt", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ResultStatus.values), name="gateresult_status_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(source__in=ResultSource.values), name="gateresult_source_valid"
            ),
            # One row per observation: the same run may pass and fail again (a check run
            # updated in place), each at its own time; a redelivery is the same row.
            models.UniqueConstraint(
                fields=["release", "gate", "commit_sha", "run_id", "run_attempt", "status", "observed_at"],
                condition=~models.Q(run_id=""),
                name="gateresult_unique_observation",
            ),
        ]
        indexes = [
            models.Index(
                fields=["release", "gate", "commit_sha", "-observed_at"], name="gateresult_current_idx"
            ),
            models.Index(fields=["status", "observed_at"], name="gateresult_status_time_idx"),
            # The writer's lookup of a run's earlier observations (gates.recording), and
            # its check that nothing landed around it since a gate's state was folded.
            models.Index(fields=["release", "run_id"], name="gateresult_run_idx"),
            models.Index(fields=["release", "gate", "commit_sha", "id"], name="gateresult_folded_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.gate.key} {self.status} @ {self.commit_sha[:8]}"


class GateState(models.Model):
    """One gate's current state for one commit of a release: the fold of its results
    (gates.folding), kept by the one writer (gates.recording) as each result lands, so the
    board, the API and polling read it without scanning the history. Never edited by hand;
    `manage.py gate_states_rebuild` refolds every row from the results."""

    release = models.ForeignKey("releases.Release", on_delete=models.CASCADE, related_name="+")
    gate = models.ForeignKey(Gate, on_delete=models.CASCADE, related_name="+")
    commit_sha = models.CharField(max_length=64, blank=True)
    # The result the gate shows, the one from which its status has held, the one that last
    # turned it failing (and when that one was received). No database constraint: results
    # are append-only, deleted only by maintenance in SQL (with the release, which takes
    # this row with it).
    current = models.ForeignKey(
        GateResult, models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    since = models.ForeignKey(GateResult, models.DO_NOTHING, db_constraint=False, null=True, related_name="+")
    worsened = models.ForeignKey(
        GateResult, models.DO_NOTHING, db_constraint=False, null=True, related_name="+"
    )
    worsened_received_at = models.DateTimeField(null=True)
    # Per CI job (check name) its newest observation, as gates.folding.Seen.as_json.
    jobs = models.JSONField(default=dict)
    # The order key (observed_at, run_attempt, id) of the last result folded in. All empty
    # (and `current` too): a row made for its lock before the gate's first result lands.
    last_observed_at = models.DateTimeField(null=True)
    last_attempt = models.PositiveIntegerField(null=True)
    last_result_id = models.BigIntegerField(null=True)
    # The highest result id folded in: a result above it that the writer did not fold
    # landed around it (gates.states `_missed`).
    folded_max_id = models.BigIntegerField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "commit_sha", "gate"], name="gatestate_one_per_gate"),
        ]

    def __str__(self) -> str:
        return f"gate {self.gate_id} of release {self.release_id} @ {self.commit_sha[:8]}"


class WaiverState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")


class Waiver(models.Model):
    """The only legal way past a failing waivable gate: asked by one person, approved by
    a PM/PO who is not the asker, until it expires."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="waivers", verbose_name=_("release")
    )
    gate = models.ForeignKey(Gate, on_delete=models.PROTECT, related_name="waivers", verbose_name=_("gate"))
    # A waiver is for the gate at one build and commit: a new build needs a new waiver, or
    # the PM/PO carries this one over (`waiver_carry_over`, on record).
    build_number = models.PositiveBigIntegerField(_("build number"))
    commit_sha = models.CharField(_("commit"), max_length=64, blank=True)
    carried_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("carried over from"),
    )
    reason = models.TextField(_("reason"))
    risk = models.TextField(_("risk"))
    mitigation = models.TextField(_("mitigation"))
    state = models.CharField(
        _("state"), max_length=10, choices=WaiverState.choices, default=WaiverState.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("asked by")
    )
    requested_at = models.DateTimeField(_("asked at"))
    expires_at = models.DateTimeField(_("expires at"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    expiry_announced_at = models.DateTimeField(_("expiry announced at"), null=True, blank=True)

    class Meta:
        verbose_name = _("waiver")
        verbose_name_plural = _("waivers")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=WaiverState.values), name="waiver_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("requested_at")),
                name="waiver_expires_after_asked",
            ),
            models.CheckConstraint(
                condition=models.Q(state=WaiverState.REQUESTED)
                | models.Q(decided_by__isnull=False, decided_at__isnull=False),
                name="waiver_decided_has_who_and_when",
            ),
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("requested_by")),
                name="waiver_not_decided_by_asker",
            ),
            models.CheckConstraint(
                condition=~models.Q(state=WaiverState.REVOKED)
                | models.Q(revoked_by__isnull=False, revoked_at__isnull=False),
                name="waiver_revoked_has_who_and_when",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.gate.key} waiver on {self.release} ({self.state})"

    # Not stored: the board's selector sets it (`is_for_build_of` the release it shows).
    is_current: bool = True

    def is_for_build_of(self, release: Any) -> bool:
        """Whether this waiver was asked for the release's current build and commit."""
        return self.build_number == release.build_number and (
            self.commit_sha == release.commit_sha or same_commit(self.commit_sha, release.commit_sha)
        )
