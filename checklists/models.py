"""Checklist templates, each release's own copy, and defects (PRODUCT §3).

A release checklist is a snapshot of its template taken when the release becomes a
candidate; later template edits do not rewrite it. The programme setup checklist is a
checklist with no release.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from accounts.models import Role


class ChecklistKind(models.TextChoices):
    RELEASE = "release", _("Release checklist")
    PROGRAMME = "programme", _("Programme setup")


class ChecklistTemplate(models.Model):
    key = models.SlugField(_("key"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=10, choices=ChecklistKind.choices)
    products = models.ManyToManyField(
        "releases.Product",
        blank=True,
        related_name="checklist_templates",
        verbose_name=_("products"),
        help_text=_("Leave empty for every product."),
    )

    class Meta:
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ChecklistKind.values), name="checklisttemplate_kind_valid"
            )
        ]

    def __str__(self) -> str:
        return self.name


class TemplateSection(models.Model):
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.CASCADE, related_name="sections", verbose_name=_("template")
    )
    title = models.CharField(_("title"), max_length=150)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("template section")
        verbose_name_plural = _("template sections")
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["template", "title"], name="templatesection_unique_title")
        ]

    def __str__(self) -> str:
        return self.title


class Evidence(models.TextChoices):
    """What ticks a programme check by itself: a record, not a click (docs/operations.md).
    The label is what the checklist says in place of the button."""

    NONE = "", _("ticked by hand")
    ALERT_CHANNEL = "alert_channel", _("ticked when an alert channel's Send test is delivered")
    RELEASE_REHEARSAL = "release_rehearsal", _("ticked when a passed release rehearsal is recorded")
    ROLLBACK_REHEARSAL = "rollback_rehearsal", _("ticked when a passed rollback rehearsal is recorded")


class TemplateItem(models.Model):
    section = models.ForeignKey(
        TemplateSection, on_delete=models.CASCADE, related_name="items", verbose_name=_("section")
    )
    title = models.CharField(_("title"), max_length=255)
    instructions = models.TextField(_("instructions"), blank=True)
    core = models.BooleanField(_("core scenario"), default=False)
    owner_role = models.CharField(_("owner role"), max_length=20, choices=Role.choices, default=Role.QA)
    position = models.PositiveIntegerField(_("position"), default=0)
    # Programme checks only: the record that ticks it (it cannot be ticked by hand).
    evidence = models.CharField(
        _("ticked by evidence"), max_length=20, choices=Evidence.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("template item")
        verbose_name_plural = _("template items")
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner_role__in=Role.values), name="templateitem_owner_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(evidence__in=Evidence.values), name="templateitem_evidence_valid"
            ),
            models.UniqueConstraint(fields=["section", "title"], name="templateitem_unique_title"),
        ]

    def __str__(self) -> str:
        return self.title


class Checklist(models.Model):
    """A copy of a template: for one release, or (with no release) the programme's."""

    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.PROTECT, related_name="checklists", verbose_name=_("template")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ChecklistKind.choices)
    release = models.ForeignKey(
        "releases.Release",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="checklists",
        verbose_name=_("release"),
    )
    name = models.CharField(_("name"), max_length=150)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("checklist")
        verbose_name_plural = _("checklists")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind__in=ChecklistKind.values), name="checklist_kind_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(kind=ChecklistKind.RELEASE, release__isnull=False)
                | models.Q(kind=ChecklistKind.PROGRAMME, release__isnull=True),
                name="checklist_release_matches_kind",
            ),
            models.UniqueConstraint(
                fields=["release", "template"],
                condition=models.Q(release__isnull=False),
                name="checklist_one_copy_per_release",
            ),
            models.UniqueConstraint(
                fields=["template"],
                condition=models.Q(release__isnull=True),
                name="checklist_one_programme_copy",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.release})" if self.release_id else self.name


class ItemState(models.TextChoices):
    OPEN = "open", _("Open")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")
    BLOCKED = "blocked", _("Blocked")
    NOT_APPLICABLE = "n/a", _("Not applicable")


class ChecklistItem(models.Model):
    checklist = models.ForeignKey(
        Checklist, on_delete=models.CASCADE, related_name="items", verbose_name=_("checklist")
    )
    template_item = models.ForeignKey(
        TemplateItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("copied from"),
        help_text=_("The template item this was copied from, to compare with later template edits."),
    )
    section = models.CharField(_("section"), max_length=150)
    section_position = models.PositiveIntegerField(_("section position"), default=0)
    title = models.CharField(_("title"), max_length=255)
    instructions = models.TextField(_("instructions"), blank=True)
    core = models.BooleanField(_("core scenario"), default=False)
    owner_role = models.CharField(_("owner role"), max_length=20, choices=Role.choices, default=Role.QA)
    position = models.PositiveIntegerField(_("position"), default=0)
    evidence = models.CharField(
        _("ticked by evidence"), max_length=20, choices=Evidence.choices, blank=True, default=""
    )
    state = models.CharField(_("state"), max_length=10, choices=ItemState.choices, default=ItemState.OPEN)
    note = models.TextField(_("note"), blank=True)
    evidence_url = models.URLField(_("evidence link"), max_length=1000, blank=True)
    ticked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("ticked by"),
    )
    ticked_at = models.DateTimeField(_("ticked at"), null=True, blank=True)
    revision = models.PositiveIntegerField(
        _("revision"), default=0, help_text=_("Grows with every tick; guards against lost ticks.")
    )

    class Meta:
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")
        ordering = ["section_position", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ItemState.values), name="checklistitem_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(owner_role__in=Role.values), name="checklistitem_owner_role_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(evidence__in=Evidence.values), name="checklistitem_evidence_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state=ItemState.OPEN)
                | models.Q(ticked_by__isnull=False, ticked_at__isnull=False),
                name="checklistitem_ticked_has_who_and_when",
            ),
        ]
        indexes = [models.Index(fields=["checklist", "core", "state"], name="checklistitem_core_idx")]

    def __str__(self) -> str:
        return self.title


class Severity(models.TextChoices):
    CRITICAL = "critical", _("Critical")
    MAJOR = "major", _("Major")
    MINOR = "minor", _("Minor")


class DefectState(models.TextChoices):
    OPEN = "open", _("Open")
    RESOLVED = "resolved", _("Resolved")


class Defect(models.Model):
    release = models.ForeignKey(
        "releases.Release", on_delete=models.CASCADE, related_name="defects", verbose_name=_("release")
    )
    checklist_item = models.ForeignKey(
        ChecklistItem,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="defects",
        verbose_name=_("checklist item"),
    )
    title = models.CharField(_("title"), max_length=255)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    state = models.CharField(_("state"), max_length=10, choices=DefectState.choices, default=DefectState.OPEN)
    tracker_url = models.URLField(_("tracker link"), max_length=1000, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reported by"),
    )
    reported_at = models.DateTimeField(_("reported at"))
    # The system that reported it (`token:<name>`) when no person did: only that tracker
    # may change it through the API.
    reported_via = models.CharField(_("reported through"), max_length=150, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # How it was resolved (required for a critical defect), and the system that resolved
    # it (`token:<name>`) when no person did. Cleared on reopening; the audit trail keeps it.
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_via = models.CharField(_("resolved through"), max_length=150, blank=True)

    class Meta:
        verbose_name = _("defect")
        verbose_name_plural = _("defects")
        ordering = ["state", "severity", "-reported_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__in=Severity.values), name="defect_severity_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=DefectState.values), name="defect_state_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(state=DefectState.OPEN) | models.Q(resolved_at__isnull=False),
                name="defect_resolved_has_when",
            ),
        ]

    def __str__(self) -> str:
        return f"[{self.severity}] {self.title}"
