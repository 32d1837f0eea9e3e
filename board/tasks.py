"""The rollout's beat task: read monitoring for the releases rolling out, then advance
the stages of products that advance by themselves (docs/rollout.md)."""

from __future__ import annotations

import logging

from celery import shared_task

from operations.sampling import health_tick

from .rollout import releases_auto_advance

log = logging.getLogger(__name__)


@shared_task(name="board.rollout_tick")
def rollout_tick_task() -> dict[str, int]:
    """Beat task. Safe to run twice at once: a source's sample is due once per interval
    and each advance takes the release's row lock and checks the stage it is at."""
    report = health_tick()
    advanced = releases_auto_advance()
    return {**report.as_dict(), "advanced": advanced}
