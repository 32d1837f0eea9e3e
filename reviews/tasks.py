"""Celery tasks for the weekly review: thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services import action_items_overdue_announce


@shared_task(name="reviews.action_items_overdue_announce")
def action_items_overdue_announce_task() -> int:
    """Beat task: announce each overdue action item once."""
    return len(action_items_overdue_announce())
