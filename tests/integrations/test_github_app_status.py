"""The `gonogo` commit status against the fake GitHub: `success` only while a Go stands,
`failure` with the words why, posted when it changes (never twice the same), retried on
5xx and timeouts, a 4xx recorded with GitHub's message."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from audit.models import AuditEvent
from board.decisions import release_decide
from board.links import board_url
from gates.services import gate_result_record
from integrations import commit_status
from integrations.models import AppInstallation, CommitStatusPost

from .conftest import REPOSITORY

pytestmark = pytest.mark.django_db


@pytest.fixture
def refresh(celery_eager: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """One refresh of the release's status, its post sent after commit (eager)."""

    def go(world: Any) -> CommitStatusPost | None:
        world.release.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            post = commit_status.commit_status_refresh(release=world.release)
        if post is not None:
            post.refresh_from_db()
        return post

    return go


def posted(world: Any) -> list[dict[str, Any]]:
    return [c.json() for c in world.github.statuses()]


def test_ready_is_failure_then_the_go_is_success_and_nothing_is_posted_twice(
    app_world: Any, refresh: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    refresh(app_world)
    refresh(app_world)  # nothing changed: nothing posted
    (first,) = posted(app_world)
    assert first == {
        "state": "failure",
        "context": "gonogo",
        "description": "Ready: waiting for the Go call",
        "target_url": f"http://localhost:8000{board_url(app_world.release)}",
    }
    (call,) = app_world.github.statuses()
    assert call.path == f"/repos/{REPOSITORY}/statuses/{app_world.release.commit_sha}"

    with django_capture_on_commit_callbacks(execute=True):  # the decision's event refreshes it
        release_decide(release=app_world.release, outcome="go", actor=app_world.pm)
    assert len(posted(app_world)) == 2
    second = posted(app_world)[1]
    assert second["state"] == "success"
    assert second["description"].startswith(f"Go called by {app_world.pm.get_username()} at ")
    refresh(app_world)
    assert len(posted(app_world)) == 2

    # A gate fails after the Go: the Go no longer stands.
    gate_result_record(
        release=app_world.release, gate=app_world.gates[0], status="failed", run_id="late-fail"
    )
    post = refresh(app_world)
    third = posted(app_world)[2]
    assert third["state"] == "failure"
    assert third["description"].startswith("3 blockers: “Gate 0” failed")
    assert len(third["description"]) <= 140
    assert post is not None and (post.posted_state, post.posted_description) == (
        "failure",
        third["description"],
    )
    assert AuditEvent.objects.filter(action="github.commit_status_posted").count() == 3


def test_the_board_shows_the_status_github_has(client: Any, app_world: Any, refresh: Any) -> None:
    refresh(app_world)
    client.force_login(app_world.qa)
    page = client.get(board_url(app_world.release)).content.decode()
    assert "GitHub: commit status “gonogo” is failure: Ready: waiting for the Go call" in page


def first_attempt(world: Any, capture: Any) -> CommitStatusPost:
    """The refresh stores what to post; its first attempt runs here (its retry is queued)."""
    with capture(execute=False):
        post = commit_status.commit_status_refresh(release=world.release)
    assert post is not None
    with capture(execute=True):
        commit_status.commit_status_send(post_id=post.pk)
    post.refresh_from_db()
    return post


def test_a_5xx_is_retried_until_posted(
    app_world: Any, refresh: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integrations import tasks

    queued: list[Any] = []
    monkeypatch.setattr(
        tasks.commit_status_task,
        "apply_async",
        lambda args=None, countdown=None, **k: queued.append((args, countdown)),
    )
    app_world.github.fail = [("statuses", 503)]
    post = first_attempt(app_world, django_capture_on_commit_callbacks)
    assert post is not None and post.posted_state == "" and "503" in post.last_error
    assert queued == [((post.pk,), 5)]
    commit_status.commit_status_send(post_id=post.pk)
    post.refresh_from_db()
    assert post.posted_state == "failure" and post.last_error == "" and post.attempts == 2
    assert len(posted(app_world)) == 1


def test_a_timeout_is_retried(
    app_world: Any, refresh: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    from integrations import tasks

    queued: list[Any] = []
    monkeypatch.setattr(
        tasks.commit_status_task,
        "apply_async",
        lambda args=None, countdown=None, **k: queued.append((args, countdown)),
    )
    app_world.github.fail = [("statuses", 0)]
    post = first_attempt(app_world, django_capture_on_commit_callbacks)
    assert post is not None and "could not be reached" in post.last_error and queued
    commit_status.commit_status_send(post_id=post.pk)
    post.refresh_from_db()
    assert post.posted_state == "failure"


def test_a_4xx_is_recorded_with_githubs_message_and_not_retried(app_world: Any, refresh: Any) -> None:
    app_world.github.fail = [("statuses", 422)]
    post = refresh(app_world)
    assert post is not None and post.posted_state == ""
    assert "GitHub answered 422: Validation Failed" in post.last_error
    assert post.next_attempt_at is None and post.attempts == 1
    refresh(app_world)  # nothing changed: not tried again
    assert len([c for c in app_world.github.calls if "/statuses/" in c.path]) == 1


def test_the_sweep_posts_only_what_changed(
    app_world: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert commit_status.commit_statuses_sweep() == 1
    with django_capture_on_commit_callbacks(execute=True):
        commit_status.commit_statuses_sweep()
    assert len(posted(app_world)) == 1
    gate_result_record(release=app_world.release, gate=app_world.gates[1], status="failed", run_id="g1-fail")
    with django_capture_on_commit_callbacks(execute=True):
        commit_status.commit_statuses_sweep()
    assert [p["state"] for p in posted(app_world)] == ["failure", "failure"]
    assert posted(app_world)[1]["description"].startswith("3 blockers: “Gate 1” failed")


def test_nothing_is_posted_without_the_app_on_the_repository(app_world: Any, refresh: Any) -> None:
    AppInstallation.objects.all().delete()
    assert refresh(app_world) is None
    assert not app_world.github.calls


def test_nothing_is_posted_when_the_app_is_not_configured(
    app_world: Any, refresh: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_GITHUB_APP_ID")
    assert refresh(app_world) is None
    assert commit_status.commit_statuses_sweep() == 0
    assert not app_world.github.calls


def test_a_post_that_gave_up_is_tried_again_by_the_sweep_after_a_while(
    app_world: Any, refresh: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """GitHub still shows `success` while the Go no longer stands and the `failure` post
    was refused (a 403 rate limit, say): the sweep tries it again every few minutes."""
    app_world.github.fail = [("statuses", 403)]
    post = refresh(app_world)
    assert post is not None and post.next_attempt_at is None and post.posted_state == ""
    with django_capture_on_commit_callbacks(execute=True):
        commit_status.commit_statuses_sweep()  # too soon: not again
    assert len([c for c in app_world.github.calls if "/statuses/" in c.path]) == 1
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=6)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        commit_status.commit_statuses_sweep()
    post.refresh_from_db()
    assert post.posted_state == "failure" and post.last_error == ""
    assert len([c for c in app_world.github.calls if "/statuses/" in c.path]) == 2
