"""Products, releases, sign-offs and the PM/PO's decision (PRODUCT §3)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role


def default_rollout() -> list[int]:
    return [1, 5, 20, 100]


def default_signoff_roles() -> list[str]:
    return [Role.QA, Role.MOBILE_LEAD, Role.BACKEND_LEAD, Role.DEVOPS]


class Platform(models.TextChoices):
    IOS = "ios", _("iOS")
    ANDROID = "android", _("Android")
    WEB = "web", _("Web")
    BACKEND = "backend", _("Backend")


class Product(models.Model):
    """Something released on its own, with its rollout plan, thresholds and operations."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    platform = models.CharField(_("platform"), max_length=10, choices=Platform.choices)
    rollout_stages = models.JSONField(
        _("rollout stages (%)"), default=default_rollout, help_text=_("For example 1, 5, 20, 100.")
    )
    rollback_target_minutes = models.PositiveIntegerField(_("rollback time target (minutes)"), default=15)
    signoff_roles = models.JSONField(_("roles whose sign-off is required"), default=default_signoff_roles)
    health_error_rate = models.FloatField(_("maximum error rate"), default=0.01)
    health_p95_latency_ms = models.PositiveIntegerField(_("maximum p95 latency (ms)"), default=800)
    health_rate_429 = models.FloatField(_("maximum HTTP 429 rate"), default=0.005)
    health_crash_free_sessions = models.FloatField(
        _("minimum crash-free sessions"),
        null=True,
        blank=True,
        help_text=_("A fraction, for example 0.995; empty: no bound (mobile apps report it)."),
    )
    soak_minutes = models.PositiveIntegerField(_("soak time per stage (minutes)"), default=30)
    auto_advance = models.BooleanField(
        _("advance by itself"),
        default=False,
        help_text=_("Advance a stage once it has soaked and its health is within bounds."),
    )
    language = models.CharField(
        _("language of alerts"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    runbook_url = models.URLField(_("runbook link"), blank=True)
    rehearsal_window_days = models.PositiveIntegerField(_("rollback rehearsal window (days)"), default=90)
    contacts_review_days = models.PositiveIntegerField(
        _("on-call review window (days)"),
        default=90,
        help_text=_("On-call contacts not reviewed within this many days block a release."),
    )
    last_build_number = models.PositiveBigIntegerField(
        _("last accepted build number"),
        default=0,
        help_text=_("Every new build must be strictly above this."),
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(platform__in=Platform.values), name="product_platform_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(health_error_rate__gte=0, health_error_rate__lte=1)
                & models.Q(health_rate_429__gte=0, health_rate_429__lte=1)
                & (
                    models.Q(health_crash_free_sessions__isnull=True)
                    | models.Q(health_crash_free_sessions__gte=0, health_crash_free_sessions__lte=1)
                ),
                name="product_health_rates_are_fractions",
            ),
        ]

    def __str__(self) -> str:
        return self.slug


class ReleaseState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    CANDIDATE = "candidate", _("Release candidate")
    GO = "go", _("Go")
    NO_GO = "no_go", _("No-Go")
    ROLLING_OUT = "rolling_out", _("Rolling out")
    RELEASED = "released", _("Released")
    HALTED = "halted", _("Halted")
    ROLLED_BACK = "rolled_back", _("Rolled back")
    CANCELLED = "cancelled", _("Cancelled")


# The release lifecycle. Each transition is one service (releases/lifecycle.py; the call in
# board/decisions.py, the rollout's in operations/rollout.py); the sets below are derived
# from it.
RELEASE_TRANSITIONS: dict[str, frozenset[str]] = {
    ReleaseState.DRAFT: frozenset({ReleaseState.CANDIDATE, ReleaseState.CANCELLED}),
    ReleaseState.CANDIDATE: frozenset({ReleaseState.GO, ReleaseState.NO_GO, ReleaseState.CANCELLED}),
    ReleaseState.GO: frozenset(
        {
            ReleaseState.GO,
            ReleaseState.NO_GO,
            ReleaseState.CANDIDATE,
            ReleaseState.ROLLING_OUT,
            ReleaseState.CANCELLED,
        }
    ),
    ReleaseState.NO_GO: frozenset({ReleaseState.CANDIDATE, ReleaseState.CANCELLED}),
    ReleaseState.ROLLING_OUT: frozenset(
        {ReleaseState.RELEASED, ReleaseState.HALTED, ReleaseState.ROLLED_BACK}
    ),
    ReleaseState.HALTED: frozenset({ReleaseState.ROLLING_OUT, ReleaseState.ROLLED_BACK}),
    ReleaseState.RELEASED: frozenset({ReleaseState.ROLLED_BACK}),
    ReleaseState.ROLLED_BACK: frozenset(),
    ReleaseState.CANCELLED: frozenset(),
}

ACTIVE_STATES: frozenset[str] = frozenset(
    {
        ReleaseState.DRAFT,
        ReleaseState.CANDIDATE,
        ReleaseState.GO,
        ReleaseState.NO_GO,
        ReleaseState.ROLLING_OUT,
        ReleaseState.HALTED,
    }
)


def _reachable(start: str) -> frozenset[str]:
    """`start` and every state the lifecycle can reach from it."""
    seen, todo = {start}, [start]
    while todo:
        for target in RELEASE_TRANSITIONS[todo.pop()]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return frozenset(seen)


# Where the PM/PO may call Go or No-Go.
DECIDABLE_STATES: frozenset[str] = frozenset(
    s for s, t in RELEASE_TRANSITIONS.items() if ReleaseState.GO in t
)
# Where sign-offs are taken: before the call and while it stands, before the rollout.
SIGNOFF_STATES: frozenset[str] = DECIDABLE_STATES | {ReleaseState.NO_GO}
# What may take a new build: a release that can become (or is) a candidate again.
NEW_BUILD_STATES: frozenset[str] = frozenset(
    s for s, t in RELEASE_TRANSITIONS.items() if ReleaseState.CANDIDATE in t
) | {ReleaseState.CANDIDATE}
# After Go: the rollout's panel shows from the Go to the rollout's end.
ROLLOUT_STATES: frozenset[str] = _reachable(ReleaseState.ROLLING_OUT)
ROLLOUT_SHOWN: frozenset[str] = ROLLOUT_STATES | {ReleaseState.GO}
# Where a rollback may be recorded.
ROLLBACK_FROM: frozenset[str] = frozenset(
    s for s, t in RELEASE_TRANSITIONS.items() if ReleaseState.ROLLED_BACK in t
)
# Where a Go may be said to stand: called, rolling out, or fully out (not halted).
GO_STANDS_STATES: frozenset[str] = frozenset(
    {ReleaseState.GO, ReleaseState.ROLLING_OUT, ReleaseState.RELEASED}
)


def same_commit(a: str, b: str) -> bool:
    """Whether two commit hashes name the same commit (either may be abbreviated)."""
    a, b = a.lower(), b.lower()
    return bool(a and b) and (a.startswith(b) or b.startswith(a))


class Release(models.Model):
    """One version of one product, at one build and commit."""

    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, related_name="releases", verbose_name=_("product")
    )
    version = models.CharField(_("version"), max_length=64)
    build_number = models.PositiveBigIntegerField(_("build number"))
    commit_sha = models.CharField(_("commit"), max_length=64, blank=True)
    branch = models.CharField(_("branch"), max_length=255, blank=True)
    target_date = models.DateField(_("target date"), null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_releases",
        verbose_name=_("owner"),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=ReleaseState.choices, default=ReleaseState.DRAFT
    )
    state_changed_at = models.DateTimeField(_("state changed at"))
    created_at = models.DateTimeField(_("created at"))
    # The staged rollout's current stage, in percent of users (one of the product's
    # `rollout_stages`); empty until the rollout starts.
    rollout_percent = models.PositiveSmallIntegerField(_("rollout stage (%)"), null=True, blank=True)
    # When the current stage began (start, advance, resume): its soak counts from here.
    rollout_stage_started_at = models.DateTimeField(_("stage began at"), null=True, blank=True)
    # Why the rollout is halted, while it is (docs/rollout.md "Halts"): kind `breach`
    # (metric, value, bound, source, sampled_at, breaches), `smoke` (gate, gate_name,
    # summary) or `person` (reason); always `at`, `by`. Null when not halted.
    halt = models.JSONField(_("halt"), null=True, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["product__slug", "-build_number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ReleaseState.values), name="release_state_valid"
            ),
            models.UniqueConstraint(fields=["product", "version"], name="release_unique_version"),
            models.UniqueConstraint(fields=["product", "build_number"], name="release_unique_build_number"),
        ]
        indexes = [
            models.Index(fields=["commit_sha"], name="release_commit_idx"),
            models.Index(fields=["product", "branch"], name="release_branch_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.product.slug} {self.version}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES


class Vote(models.TextChoices):
    GO = "go", _("Go")
    NO_GO = "no_go", _("No-Go")


class SignOff(models.Model):
    """A role's Go or No-Go on a release. The newest per role counts; it is fresh only
    while the evidence it was given on (build, commit, gate states) is unchanged."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="signoffs", verbose_name=_("release")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    vote = models.CharField(_("vote"), max_length=10, choices=Vote.choices)
    comment = models.TextField(_("comment"), blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("signed by")
    )
    signed_at = models.DateTimeField(_("signed at"))
    evidence_fingerprint = models.CharField(_("evidence fingerprint"), max_length=64)
    evidence = models.JSONField(_("evidence"), encoder=DjangoJSONEncoder, default=dict)

    class Meta:
        verbose_name = _("sign-off")
        verbose_name_plural = _("sign-offs")
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="signoff_role_valid"),
            models.CheckConstraint(condition=models.Q(vote__in=Vote.values), name="signoff_vote_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.release} {self.role}: {self.vote}"


class Decision(models.Model):
    """The PM/PO's final call, with the evidence it was made on, frozen."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="decisions", verbose_name=_("release")
    )
    outcome = models.CharField(_("outcome"), max_length=10, choices=Vote.choices)
    rationale = models.TextField(_("rationale"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("decided by")
    )
    decided_at = models.DateTimeField(_("decided at"))
    evidence_fingerprint = models.CharField(_("evidence fingerprint"), max_length=64)
    snapshot = models.JSONField(_("evidence snapshot"), encoder=DjangoJSONEncoder)

    class Meta:
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(outcome__in=Vote.values), name="decision_outcome_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(outcome=Vote.NO_GO, rationale=""),
                name="decision_no_go_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.release}: {self.get_outcome_display()}"


class Meeting(models.Model):
    """A Go/No-Go meeting on one release: who attended, notes, when it ran."""

    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="meetings", verbose_name=_("release")
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    attendees = models.JSONField(_("attendees"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("Go/No-Go meeting")
        verbose_name_plural = _("Go/No-Go meetings")
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_at__isnull=True) | models.Q(ended_at__gte=models.F("started_at")),
                name="meeting_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.release} meeting {self.started_at:%Y-%m-%d %H:%M}"
