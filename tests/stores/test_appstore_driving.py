"""The board's rollout drives Apple's phased release: a halt (manual, or automatic on a
health breach) pauses it, a resume resumes it, the last stage completes it; each change
is stored in the step's transaction, sent after commit, retried on no answer / 429 / 5xx
(not on other 4xx), every answer on record, `store.failed` after the last failure."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from board.rollout import release_halt_by, release_rollout_resume
from operations.services import health_sample_record
from stores.appstore_services import changes_due_requeue
from stores.models import AppStoreChange, AppStoreChangeAttempt, AppStorePhasedRelease

from ..releases.builders import healthy, roll_out_fully
from .appstore_fixtures import Queued
from .appstore_servers import FakeAppStoreConnect, apple_error

pytestmark = pytest.mark.django_db


def halt(ios: Any, capture: Any, reason: str = "crash spike") -> AppStoreChange:
    with capture(execute=True):
        release_halt_by(release=ios.release, actor=ios.devops, reason=reason)
    return AppStoreChange.objects.get(release=ios.release, status="pending")


def test_starting_the_rollout_changes_nothing_at_apple_and_reads_it_back(
    ios: Any, asc: FakeAppStoreConnect, asc_queued: Queued
) -> None:
    assert AppStoreChange.objects.count() == 0
    assert asc.patches() == []
    assert asc_queued.reads() == [ios.release.pk]


def test_a_manual_halt_pauses_apples_release(
    ios: Any, asc: FakeAppStoreConnect, asc_queued: Queued, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    change = halt(ios, django_capture_on_commit_callbacks)
    assert (change.wanted, change.origin, change.reason, change.requested_by) == (
        "PAUSED",
        "rollout.halted",
        "crash spike",
        ios.devops,
    )
    assert asc_queued.changes() == [change.pk]  # asc_queued after the halt's commit
    assert send(change) == "done"
    assert ios.phase.state == "PAUSED"
    change.refresh_from_db()
    assert (change.status, change.status_code, change.attempts) == ("done", 200, 1)
    row = AppStorePhasedRelease.objects.get(release=ios.release)
    assert (row.state, row.current_day, row.phased_release_id, row.drift_key) == (
        "PAUSED",
        1,
        ios.phase.id,
        "",
    )
    actions = list(
        AuditEvent.objects.filter(release_id=ios.release.pk, action__startswith="store.")
        .values_list("action", flat=True)
        .order_by("id")
    )
    assert actions == ["store.appstore_change", "store.appstore_read", "store.appstore_answer"]
    assert asc_queued.reads()[-1] == ios.release.pk  # read back after the change


def test_an_automatic_halt_on_a_health_breach_pauses_it(
    ios: Any, asc: FakeAppStoreConnect, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        health_sample_record(release=ios.release, error_rate=0.5, p95_latency_ms=200, rate_429=0.0)
    ios.release.refresh_from_db()
    assert ios.release.state == "halted"
    change = AppStoreChange.objects.get(release=ios.release)
    assert (change.wanted, change.origin, change.requested_by) == ("PAUSED", "rollout.halted", None)
    assert send(change) == "done" and ios.phase.state == "PAUSED"


def test_resume_and_the_last_stage_resume_and_complete_it(
    ios: Any, asc: FakeAppStoreConnect, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    send(halt(ios, django_capture_on_commit_callbacks))
    healthy(ios.release)
    with django_capture_on_commit_callbacks(execute=True):
        release_rollout_resume(release=ios.release, actor=ios.devops)
    resume = AppStoreChange.objects.get(release=ios.release, status="pending")
    assert (resume.wanted, resume.origin) == ("ACTIVE", "rollout.resumed")
    assert send(resume) == "done" and ios.phase.state == "ACTIVE"
    with django_capture_on_commit_callbacks(execute=True):
        roll_out_fully(ios.release, ios.devops)
    complete = AppStoreChange.objects.get(release=ios.release, status="pending")
    assert (complete.wanted, complete.origin) == ("COMPLETE", "rollout.completed")
    assert send(complete) == "done" and ios.phase.state == "COMPLETE"
    assert [p.json()["data"]["attributes"]["phasedReleaseState"] for p in asc.patches()] == [
        "PAUSED",
        "ACTIVE",
        "COMPLETE",
    ]


def test_no_answer_429_and_5xx_are_retried_with_backoff_then_done(
    ios: Any,
    asc: FakeAppStoreConnect,
    asc_queued: Queued,
    send: Any,
    store_events: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    change = halt(ios, django_capture_on_commit_callbacks)
    # The version is looked up (once), then the PATCH fails three ways.
    asc.script += [
        "timeout",
        (
            429,
            apple_error(429, "RATE_LIMIT_EXCEEDED", "The request rate limit has been reached.", "Wait."),
            {"Retry-After": "7"},
        ),
    ]
    assert send(change) == "retry"  # the version lookup got no answer
    assert send(change) == "not_due"  # its countdown first
    assert send(change, due=True) == "retry"  # 429
    assert asc_queued.calls[-1][0] == "change" and asc_queued.calls[-1][2] >= 7  # Retry-After is honoured
    asc.script.append((503, apple_error(503, "UNAVAILABLE", "Service Unavailable", "Try later.")))
    assert send(change, due=True) == "retry"
    assert send(change, due=True) == "done"
    attempts = list(
        AppStoreChangeAttempt.objects.filter(change=change)
        .order_by("number")
        .values_list("ok", "status_code")
    )
    assert attempts == [(False, None), (False, 429), (False, 503), (True, 200)]
    assert ios.phase.state == "PAUSED" and store_events == []
    assert AuditEvent.objects.filter(action="store.appstore_answer", object_id=str(change.pk)).count() == 4


def test_after_the_last_attempt_it_fails_and_store_failed_is_emitted(
    ios: Any,
    asc: FakeAppStoreConnect,
    send: Any,
    store_events: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    change = halt(ios, django_capture_on_commit_callbacks)
    asc.script += [(502, b"Bad Gateway")] * 4
    results = [send(change, due=True) for _ in range(4)]
    assert results == ["retry", "retry", "retry", "failed"]
    change.refresh_from_db()
    assert change.status == "failed" and change.attempts == 4 and change.status_code == 502
    assert store_events == [
        (
            "store.failed",
            {
                "store": "app_store",
                "store_name": "App Store",
                "step": "pause",
                "error": "HTTP 502 Bad Gateway",
                "status": 502,
                "attempts": 4,
            },
        )
    ]


def test_apple_refusing_is_not_retried_and_its_words_are_kept(
    ios: Any,
    asc: FakeAppStoreConnect,
    send: Any,
    store_events: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    ios.phase.state = "COMPLETE"  # someone released it to everyone in App Store Connect
    change = halt(ios, django_capture_on_commit_callbacks)
    assert send(change) == "refused"
    change.refresh_from_db()
    assert change.status == "refused" and change.status_code == 409 and change.attempts == 1
    assert (
        change.answer
        == "An attribute value is invalid. — A phased release that is complete cannot be paused or resumed."
    )
    assert store_events[0][0] == "store.failed" and store_events[0][1]["error"] == change.answer
    assert ios.phase.state == "COMPLETE"


def test_a_pause_beyond_30_days_is_refused_by_apple(
    ios: Any, asc: FakeAppStoreConnect, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ios.phase.pause_days = 30
    change = halt(ios, django_capture_on_commit_callbacks)
    assert send(change) == "refused"
    change.refresh_from_db()
    assert "no more than 30 days" in change.answer


def test_a_newer_change_replaces_one_still_waiting(
    ios: Any, asc: FakeAppStoreConnect, send: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = halt(ios, django_capture_on_commit_callbacks)
    healthy(ios.release)
    with django_capture_on_commit_callbacks(execute=True):
        release_rollout_resume(release=ios.release, actor=ios.devops)
    first.refresh_from_db()
    assert first.status == "replaced"
    assert send(first) == "replaced"
    second = AppStoreChange.objects.get(release=ios.release, status="pending")
    assert send(second) == "done" and ios.phase.state == "ACTIVE"
    assert len(asc.patches()) == 1


def test_the_sweep_queues_a_change_whose_message_was_lost(
    ios: Any, asc_queued: Queued, django_capture_on_commit_callbacks: Any
) -> None:
    change = halt(ios, django_capture_on_commit_callbacks)
    asc_queued.calls.clear()
    assert changes_due_requeue() == 0  # not late yet
    AppStoreChange.objects.filter(pk=change.pk).update(
        next_attempt_at=timezone.now() - timezone.timedelta(minutes=2)
    )
    assert changes_due_requeue() == 1 and asc_queued.changes() == [change.pk]


def test_a_product_without_a_source_is_left_alone(ios: Any, django_capture_on_commit_callbacks: Any) -> None:
    ios.source.active = False
    ios.source.save()
    with django_capture_on_commit_callbacks(execute=True):
        release_halt_by(release=ios.release, actor=ios.devops, reason="r")
    assert AppStoreChange.objects.count() == 0
