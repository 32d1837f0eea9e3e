"""The health tick: read every monitoring source that is due for the releases rolling
out, and record what each said (docs/rollout.md "Monitoring sources").

Called by the beat's `board.rollout_tick` every GONOGO_HEALTH_TICK_SECONDS. A source is
due once its `interval_seconds` have passed since it was last read. Due sources are
claimed first (row locks, `skip_locked`, `last_sampled_at` set before anyone reads), so
two ticks at once never read a source twice. Reading happens outside any transaction in
a small thread pool (slow monitoring for one product does not hold up the others); each
reading becomes one sample through `health_sample_record`, which halts on a breach.
Database queries per tick: a constant number, plus a constant number per sample.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from releases.health_words import source_label
from releases.models import Release, ReleaseState

from .models import HealthSample, HealthSource
from .monitoring import Reading, source_read
from .services import health_sample_record

log = logging.getLogger(__name__)

READ_THREADS = 8
HEALTH_METRICS = ("error_rate", "p95_latency_ms", "rate_429", "crash_free_sessions")


@dataclass
class TickReport:
    """`sampled`: samples recorded; of them `inconclusive` (a problem and no breach) and
    `halted` (this sample halted the rollout); `skipped`: sources not due yet; `failed`:
    readings that could not be recorded at all (logged)."""

    sampled: int = 0
    inconclusive: int = 0
    halted: int = 0
    skipped: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _is_due(source: HealthSource, now: datetime) -> bool:
    last = source.last_sampled_at
    return last is None or last + timedelta(seconds=source.interval_seconds) <= now


# Read while rolling out, and while halted: a resume needs a sample taken since the halt.
SAMPLED_STATES = (ReleaseState.ROLLING_OUT, ReleaseState.HALTED)


@transaction.atomic
def _claim(now: datetime) -> tuple[list[HealthSource], int]:
    """Lock the active sources of products rolling out (one query), mark the due ones
    read at `now` (one more): (due sources, how many were not due). A source another
    tick holds is left to it."""
    rolling_out = Release.objects.filter(state__in=SAMPLED_STATES).values("product_id")
    sources = list(
        HealthSource.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(active=True, product_id__in=rolling_out)
        .select_related("product")
        .order_by("pk")
    )
    due = [s for s in sources if _is_due(s, now)]
    if due:
        HealthSource.objects.filter(pk__in=[s.pk for s in due]).update(last_sampled_at=now)
    return due, len(sources) - len(due)


def _record(source: HealthSource, release: Release, reading: Reading, now: datetime) -> HealthSample:
    values = {k: v for k, v in reading.values.items() if k in HEALTH_METRICS}
    return health_sample_record(
        release=release,
        **values,
        source=source.kind,
        problems=reading.problems,
        sampled_at=now,
        actor_label=source_label(source.kind),
    )


def health_tick(now: datetime | None = None, *, timeout: float | None = None) -> TickReport:
    """Sample every due source once for each release of its product that is rolling out
    (or halted: resuming needs a fresh sample).
    One source that fails (does not answer, answers nonsense, or breaks in our code) is a
    sample with problems, never a stop for the others. Safe to run twice at once."""
    started = time.monotonic()
    now = now or timezone.now()
    report = TickReport()
    due, report.skipped = _claim(now)
    if not due:
        log.info("health tick: nothing due (%d not due yet)", report.skipped)
        return report
    releases: dict[int, list[Release]] = {}
    for release in (
        Release.objects.filter(state__in=SAMPLED_STATES, product_id__in={s.product_id for s in due})
        .select_related("product")
        .order_by("pk")
    ):
        releases.setdefault(release.product_id, []).append(release)
    pairs = [(s, r) for s in due for r in releases.get(s.product_id, [])]

    with ThreadPoolExecutor(max_workers=max(1, min(READ_THREADS, len(pairs)))) as pool:
        readings = list(pool.map(lambda pair: source_read(pair[0], pair[1], timeout=timeout), pairs))

    for (source, release), reading in zip(pairs, readings, strict=True):
        try:
            sample = _record(source, release, reading, now)
        except Exception as exc:  # one source never stops the others
            log.exception("health tick: %s for %s could not be recorded", source, release)
            problem = {"metric": "", "code": "error", "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}
            try:
                sample = health_sample_record(
                    release=release,
                    source=source.kind,
                    problems=[{**problem, "source": source.kind}],
                    sampled_at=now,
                    actor_label=source_label(source.kind),
                )
            except Exception:
                log.exception("health tick: not even the problem could be recorded")
                report.failed += 1
                continue
        report.sampled += 1
        report.inconclusive += int(sample.inconclusive)
        report.halted += int(sample.halted)
    log.info(
        "health tick: %d sampled (%d inconclusive, %d halted), %d not due, %d failed, in %.2f s",
        report.sampled,
        report.inconclusive,
        report.halted,
        report.skipped,
        report.failed,
        time.monotonic() - started,
    )
    return report
