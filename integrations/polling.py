"""Polling CI providers, for the webhooks that never arrived.

The beat task `integrations.poll_due` calls `releases_poll` every
GONOGO_POLL_INTERVAL_SECONDS: each active release still waiting for a CI gate is asked
about through its product's integrations, and what the provider says is applied like a
webhook (same run ids, so a result seen both ways is recorded once).

Every request goes through one `PollSession` (poll_session.py), which honours the
providers' rate limits, Retry-After and an exponential backoff after errors.
"""

from __future__ import annotations

import logging

from django.db import transaction

from gates.models import Evaluation, Gate, ResultSource
from gates.selectors import current_results, gates_for_product
from releases.models import ACTIVE_STATES, Release

from .apply import observations_apply
from .models import Integration, PollCursor
from .poll_session import PollSession
from .providers import POLLERS

logger = logging.getLogger(__name__)

WAITING = frozenset({"pending", "running"})


def _reported_gates(integration: Integration) -> list[Gate]:
    """The product's CI gates this integration's patterns report to."""
    reported = {str(key) for key in integration.gate_patterns.values()}
    return [
        g
        for g in gates_for_product(integration.product)
        if g.evaluation == Evaluation.CI and g.key in reported
    ]


def release_waits(release: Release, gates: list[Gate]) -> bool:
    """Whether one of `gates` has no result yet, or only a pending or running one, for
    the release's current commit."""
    current, _since = current_results(release)
    return any(current.get(g.pk) is None or current[g.pk].status in WAITING for g in gates)


def releases_poll(*, session: PollSession | None = None) -> int:
    """Ask CI about every active release (with a commit) that still waits for a CI gate
    an active, pollable integration of its product reports, and apply the answers as
    results from polling. Returns how many releases were polled.

    Each release's answers are applied in their own transaction; if applying fails, the
    integration's ETags are forgotten so the same answer is read again next time instead
    of being hidden by a 304. A failure is logged and the next release and integration are
    still polled."""
    session = session or PollSession()
    polled = 0
    integrations = (
        Integration.objects.filter(active=True, provider__in=list(POLLERS))
        .exclude(api_url="")
        .select_related("product")
        .order_by("pk")
    )
    for integration in integrations:
        gates = _reported_gates(integration)
        if not gates:
            continue
        releases = (
            Release.objects.filter(product=integration.product, state__in=ACTIVE_STATES)
            .exclude(commit_sha="")
            .select_related("product")
            .order_by("pk")
        )
        for release in releases:
            if not release_waits(release, gates):
                continue
            try:
                # The provider is asked outside any transaction: no lock or connection is
                # held while it answers.
                observations = POLLERS[integration.provider].poll(session, integration, release)
                with transaction.atomic():
                    observations_apply(
                        integration=integration, observations=observations, source=ResultSource.POLL
                    )
            except Exception:
                logger.exception("polling %s for %s failed", integration, release)
                # What was fetched was not applied: forget the ETags, so the next poll reads
                # the answer again instead of being told "304, nothing new".
                PollCursor.objects.filter(integration=integration).update(etag="")
                continue
            polled += 1
    return polled
