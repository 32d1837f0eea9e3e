"""The weekly 15-minute review (주간 점검): action items and the review's own record
(PRODUCT §2, §5)."""

from __future__ import annotations

from datetime import UTC

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ActionKind(models.TextChoices):
    FIX = "fix", _("Fix")
    PREVENTION = "prevention", _("Prevention")


class ActionState(models.TextChoices):
    OPEN = "open", _("Open")
    DONE = "done", _("Done")


class ActionItem(models.Model):
    """Who fixes what by when (Q2), or what changes so a failure won't repeat (Q4)."""

    kind = models.CharField(_("kind"), max_length=12, choices=ActionKind.choices, default=ActionKind.FIX)
    title = models.CharField(_("what"), max_length=255)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="action_items",
        verbose_name=_("owner"),
    )
    due_on = models.DateField(_("due date"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=ActionState.choices, default=ActionState.OPEN)
    product = models.ForeignKey(
        "releases.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    gate = models.ForeignKey(
        "gates.Gate",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("gate"),
    )
    failure = models.ForeignKey(
        "gates.GateResult",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="action_items",
        verbose_name=_("from failure"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"))
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("done by"),
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("action item")
        verbose_name_plural = _("action items")
        ordering = ["state", "due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ActionKind.values), name="actionitem_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=ActionState.values), name="actionitem_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state=ActionState.OPEN, done_at__isnull=True, done_by__isnull=True)
                | models.Q(state=ActionState.DONE, done_at__isnull=False, done_by__isnull=False),
                name="actionitem_done_has_who_and_when",
            ),
            # A failure turned into an action item once (the weekly review's Q1 button).
            models.UniqueConstraint(
                fields=["failure"],
                condition=models.Q(failure__isnull=False),
                name="actionitem_one_per_failure",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class WeeklyReview(models.Model):
    """One week's 15-minute review: who came and what was said for each question."""

    year = models.PositiveIntegerField(_("ISO year"))
    week = models.PositiveIntegerField(_("ISO week"))
    attendees = models.JSONField(_("attendees"), default=list, blank=True)
    notes = models.JSONField(_("notes per question"), default=dict, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("started by")
    )
    started_at = models.DateTimeField(_("started at"))
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # The 15-minute timer runs from here on every screen showing the review.
    timer_started_at = models.DateTimeField(_("timer started at"), null=True, blank=True)

    class Meta:
        verbose_name = _("weekly review")
        verbose_name_plural = _("weekly reviews")
        ordering = ["-year", "-week"]
        constraints = [
            models.UniqueConstraint(fields=["year", "week"], name="weeklyreview_one_per_week"),
            models.CheckConstraint(
                condition=models.Q(week__gte=1, week__lte=53), name="weeklyreview_week_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def timer_started_iso(self) -> str:
        """The timer's start for the page's script: ISO 8601 in UTC, whole seconds."""
        started = self.timer_started_at
        return started.astimezone(UTC).isoformat(timespec="seconds") if started else ""
