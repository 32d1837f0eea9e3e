"""Celery tasks for gates: thin, idempotent, taking ids and calling services."""

from __future__ import annotations

from celery import shared_task

from .services import waivers_expire_announce, waivers_expiring_announce


@shared_task(name="gates.waivers_expire_announce")
def waivers_expire_announce_task() -> int:
    """Beat task: record each lapsed waiver once. Safe to run twice."""
    return len(waivers_expire_announce())


@shared_task(name="gates.waivers_expiring_announce")
def waivers_expiring_announce_task() -> int:
    """Beat task: announce each waiver expiring within 24 hours once. Safe to run twice."""
    return len(waivers_expiring_announce())
