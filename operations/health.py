"""A rollout stage's health: the product's bounds, which a sample breaks, and whether the
current stage is in bounds, out of bounds or inconclusive (docs/rollout.md).

A stage is in bounds only when the newest sample of every source since the stage began
(or since the halt, for a resume) is in bounds. A source that did not answer, or none
heard from since the stage began, leaves it inconclusive: never treated as in bounds.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from releases.health_words import METRICS
from releases.models import Product, Release

from .models import HealthSample, HealthSource


def bounds_of(product: Product) -> dict[str, tuple[float, bool]]:
    """metric → (bound, is a minimum); a metric without a bound is left out."""
    bounds = {}
    for metric, (_label, minimum, attr, _pct) in METRICS.items():
        value = getattr(product, attr)
        if value is not None:
            bounds[metric] = (float(value), minimum)
    return bounds


def breaches_of(values: dict[str, float | None], product: Product) -> list[dict[str, Any]]:
    """The bounds the values break, as [{"metric", "value", "bound", "minimum"}]."""
    found = []
    for metric, (bound, minimum) in bounds_of(product).items():
        value = values.get(metric)
        if value is not None and (value < bound if minimum else value > bound):
            found.append({"metric": metric, "value": value, "bound": bound, "minimum": minimum})
    return found


@dataclass(frozen=True)
class StageHealth:
    """`status`: in_bounds | breach | inconclusive | waiting (no sample from some source
    since `since`; the API says inconclusive). `newest`: per source, its newest sample
    since `since`. `missing`: configured sources not heard from since then."""

    status: str
    since: datetime | None
    newest: dict[str, HealthSample] = field(default_factory=dict)
    missing: tuple[str, ...] = ()
    sources: tuple[HealthSource, ...] = ()
    # Halted with nothing sampled since: the samples that stood when it halted (shown,
    # never a reason to resume: `health_shown`).
    at_halt: bool = False

    @property
    def api_status(self) -> str:
        return "inconclusive" if self.status == "waiting" else self.status

    @property
    def in_bounds(self) -> bool:
        return self.status == "in_bounds"

    @property
    def last(self) -> HealthSample | None:
        return max(self.newest.values(), key=lambda s: (s.sampled_at, s.pk), default=None)

    def next_sample_at(self) -> datetime | None:
        """When the next sample from a configured source is due (None: none configured)."""
        due = [
            (s.last_sampled_at or timezone.now()) + timedelta(seconds=s.interval_seconds)
            for s in self.sources
        ]
        return min(due, default=None)


def health_sources(product: Product) -> tuple[HealthSource, ...]:
    return tuple(HealthSource.objects.filter(product=product, active=True).order_by("kind"))


def stage_health(
    release: Release, *, since: datetime | None = None, before: datetime | None = None
) -> StageHealth:
    """The health of the current stage: samples since `since` (default: when the stage
    began), or with `before` the newest ones taken up to that moment. One query for the
    sources, one per source heard from."""
    since = since or release.rollout_stage_started_at
    sources = health_sources(release.product)
    samples = HealthSample.objects.filter(release=release)
    if before is not None:
        samples = samples.filter(sampled_at__lte=before)
    elif since is not None:
        samples = samples.filter(sampled_at__gte=since)
    newest: dict[str, HealthSample] = {}
    for kind in [*(s.kind for s in sources), "push"]:
        sample = samples.filter(source=kind).order_by("-sampled_at", "-id").first()
        if sample is not None:
            newest[kind] = sample
    missing = tuple(s.kind for s in sources if s.kind not in newest)
    return StageHealth(
        status=_status(newest, missing),
        since=since,
        newest=newest,
        missing=missing,
        sources=sources,
        at_halt=before is not None,
    )


def health_shown(release: Release, since_halt: StageHealth) -> StageHealth:
    """What a halted release's health is said to be: the samples since the halt, or while
    none has come in, those that stood at the halt (a breach halt stays "out of bounds"
    until a new sample says otherwise). Resuming still needs a sample since the halt."""
    if since_halt.newest or since_halt.since is None:
        return since_halt
    at_halt = stage_health(release, before=since_halt.since)
    halted_on = HealthSample.objects.filter(
        release=release, pk=(release.halt or {}).get("sample") or 0
    ).first()
    if halted_on is not None and halted_on.source not in at_halt.newest:
        # The sample it halted on, from a source no longer configured: still the reason.
        newest = {**at_halt.newest, halted_on.source: halted_on}
        at_halt = replace(at_halt, newest=newest, status=_status(newest, at_halt.missing))
    return at_halt if at_halt.newest else since_halt


def _status(newest: dict[str, HealthSample], missing: tuple[str, ...]) -> str:
    if any(s.breaches for s in newest.values()):
        return "breach"
    if any(s.problems for s in newest.values()):
        return "inconclusive"
    if missing or not newest:
        return "waiting"
    return "in_bounds"


def soak_until(release: Release) -> datetime | None:
    started = release.rollout_stage_started_at
    if started is None:
        return None
    return started + timedelta(minutes=release.product.soak_minutes)
