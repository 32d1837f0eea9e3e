"""Reading flags' states back on a schedule (docs/flags.md).

The beat's `flags.read_due` reads every active Unleash flag of a product with a release
rolling out, halted, or released within `GONOGO_FLAG_READ_RECENT_HOURS`, at most once per
`GONOGO_FLAG_READ_SECONDS`. A state that changed (a flag turned back on outside, a read
that started or stopped failing) is stored, audited and the boards' flags panels are
refreshed; the same state only moves its "read at" time. Webhook flags have no read-back:
their state is what the webhook answered to the last Kill.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from releases.models import Release, ReleaseState

from .models import Flag, FlagProvider
from .providers import flag_read
from .services import flag_state_store


def flags_due(*, now: datetime | None = None) -> list[Flag]:
    now = now or timezone.now()
    every = timedelta(seconds=float(getattr(settings, "GONOGO_FLAG_READ_SECONDS", 60)))
    recent = timedelta(hours=float(getattr(settings, "GONOGO_FLAG_READ_RECENT_HOURS", 24)))
    live = Release.objects.filter(
        Q(state__in=(ReleaseState.ROLLING_OUT, ReleaseState.HALTED))
        | Q(state=ReleaseState.RELEASED, state_changed_at__gte=now - recent)
    ).values("product_id")
    return list(
        Flag.objects.filter(active=True, provider=FlagProvider.UNLEASH, product_id__in=live)
        .filter(Q(state_read_at__isnull=True) | Q(state_read_at__lte=now - every))
        .select_related("product")
        .order_by("state_read_at", "pk")[:100]
    )


def flag_read_store(flag: Flag) -> bool:
    """Read one flag now and store what came back; True when its state changed."""
    started = timezone.now()
    read = flag_read(flag)
    if read is None:
        return False
    return flag_state_store(flag_id=flag.pk, state=read.state, error=read.error, started=started)


def flags_read_due(*, now: datetime | None = None) -> int:
    """Beat: read the flags that are due; the number whose state changed."""
    return sum(1 for flag in flags_due(now=now) if flag_read_store(flag))
