"""What the GitHub App does when something happens to a release (connected in apps.py):
after commit, a decision judges the deployments waiting for it again, and every event
refreshes the `gonogo` commit status (the sweep catches what no event tells)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from releases.models import Release

from . import tasks
from .github_app import app_settings

DECISIONS = ("decision.go", "decision.no_go")


def release_event_receive(sender: str, release: Release | None = None, **kwargs: Any) -> None:
    if release is None or not app_settings().configured:
        return
    pk = release.pk
    if sender in DECISIONS:
        transaction.on_commit(lambda: tasks.deployments_reconsider_task.delay(pk), robust=True)
    transaction.on_commit(lambda: tasks.commit_status_refresh_task.delay(pk), robust=True)
