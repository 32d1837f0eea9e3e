"""Play's track read back: after each step and on the beat's schedule; what Play says is
stored, a difference from the board is shown in words and announced once per new
difference, never while a step is still on its way."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from board.rollout import release_rollout_advance, release_rollout_start
from releases.events import release_event
from stores import play_tasks
from stores.models import PlayCall, PlayCallState, PlayTrackReading
from stores.play_readback import play_track_read, reads_due
from stores.play_reads import play_for_board
from stores.play_services import calls_due_requeue

from ..releases.builders import healthy
from .play_servers import Reply, google_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def drifts() -> Any:
    seen: list[dict[str, Any]] = []

    def listen(sender: str, **kwargs: Any) -> None:
        if sender == "store.drift":
            seen.append(kwargs.get("data") or {})

    release_event.connect(listen, dispatch_uid="test.play.drift")
    yield seen
    release_event.disconnect(dispatch_uid="test.play.drift")


def rolled_to_20(world: Any, run: Any) -> Any:
    release = release_rollout_start(release=world.release, actor=world.devops)
    for _ in range(2):
        healthy(release)
        release = release_rollout_advance(release=release, actor=world.devops)
    for call in PlayCall.objects.filter(state=PlayCallState.PENDING):
        run(call)
    return release


def test_a_step_that_play_took_is_read_back(world: Any, django_capture_on_commit_callbacks: Any) -> None:
    release_rollout_start(release=world.release, actor=world.devops)
    call = PlayCall.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert play_tasks.play_step_task(call.pk) == "done"
    reading = PlayTrackReading.objects.get(release=world.release)
    assert (reading.status, reading.user_fraction, reading.drift) == ("inProgress", 0.01, "")
    gets = [s for s in world.google.play.seen if s.method == "GET"]
    assert len(gets) == 1 and gets[0].path.endswith("/tracks/production")
    assert world.google.play.seen[-1].method == "DELETE"  # the reading's edit is dropped
    assert not world.google.play.edits
    panel = play_for_board(world.release)
    assert panel is not None and panel.play_says == "1 %" and not panel.drift


def test_drift_is_shown_and_announced_once_per_difference(world: Any, run: Any, drifts: Any) -> None:
    release = rolled_to_20(world, run)
    # Someone sets 5 % in Play Console.
    world.google.play.console_set(
        {"versionCodes": [world.code], "status": "inProgress", "userFraction": 0.05}
    )
    reading = play_track_read(release=release)
    assert reading is not None and reading.percent == 5
    assert drifts == [{"store": "google_play", "store_name": "Google Play", "theirs": "5 %", "ours": "20 %"}]
    panel = play_for_board(release)
    assert panel is not None and panel.drift
    assert (panel.play_says, panel.board_says) == ("5 %", "20 %")
    play_track_read(release=release)  # the same difference: said once
    assert len(drifts) == 1
    world.google.play.console_set({"versionCodes": [world.code], "status": "halted", "userFraction": 0.05})
    play_track_read(release=release)
    assert drifts[-1]["theirs"] == "halted at 5 %" and len(drifts) == 2
    assert AuditEvent.objects.filter(action="play.drift", release_id=release.pk).count() == 2
    world.google.play.console_set({"versionCodes": [world.code], "status": "inProgress", "userFraction": 0.2})
    reading = play_track_read(release=release)
    assert reading is not None and reading.drift == "" and not play_for_board(release).drift
    world.google.play.console_set(
        {"versionCodes": [world.code], "status": "inProgress", "userFraction": 0.05}
    )
    play_track_read(release=release)
    assert len(drifts) == 3  # a difference again after agreeing: announced again


def test_a_build_missing_from_the_track_is_drift(world: Any, run: Any, drifts: Any) -> None:
    release = rolled_to_20(world, run)
    world.google.play.console_set({"versionCodes": ["1"], "status": "completed"})
    play_track_read(release=release)
    assert drifts[0]["theirs"] == f"build {world.code} is not on the “production” track"


def test_no_drift_while_a_step_is_on_its_way(world: Any, run: Any, drifts: Any) -> None:
    release = rolled_to_20(world, run)
    healthy(release)
    release = release_rollout_advance(release=release, actor=world.devops)  # to 100 %, not sent yet
    play_track_read(release=release)
    assert drifts == []
    panel = play_for_board(release)
    assert panel is not None and not panel.drift and panel.under_way
    run(PlayCall.objects.filter(state=PlayCallState.PENDING).get())
    reading = play_track_read(release=release)
    assert reading is not None and reading.status == "completed" and drifts == []


def test_a_read_that_fails_says_why_and_keeps_the_last_reading(world: Any, run: Any) -> None:
    release = rolled_to_20(world, run)
    play_track_read(release=release)
    world.google.play.script(
        "GET", "/tracks/", Reply(500, google_error(500, "Internal error encountered.", "INTERNAL"))
    )
    reading = play_track_read(release=release)
    assert reading is not None and "Internal error encountered." in reading.error
    assert reading.status == "inProgress" and reading.percent == 20
    panel = play_for_board(release)
    assert panel is not None and panel.play_says == "20 %"


def test_the_beat_reads_releases_rolling_out_and_requeues_lost_steps(
    world: Any, run: Any, queued: Any
) -> None:
    release = release_rollout_start(release=world.release, actor=world.devops)
    call = PlayCall.objects.get()
    assert reads_due() == [release.pk]
    queued.steps.clear()
    # The message was lost: the sweep queues it once it is well past its time.
    assert calls_due_requeue() == 0
    assert calls_due_requeue(now=timezone.now() + timedelta(minutes=1)) == 1 and queued.steps == [
        (call.pk, 0.0)
    ]
    # A worker died while sending it: its claim lapses, the sweep frees and queues it.
    PlayCall.objects.filter(pk=call.pk).update(state=PlayCallState.RUNNING, next_attempt_at=timezone.now())
    queued.steps.clear()
    assert calls_due_requeue(now=timezone.now() + timedelta(seconds=1)) == 1
    assert PlayCall.objects.get(pk=call.pk).state == PlayCallState.PENDING
    assert run(call) == "done"
    play_track_read(release=release)
    assert reads_due() == []  # read within 5 minutes
    assert reads_due(now=timezone.now() + timedelta(minutes=6)) == [release.pk]
    assert play_tasks.play_sweep_task() == 0


def test_the_beat_schedules_the_sweep() -> None:
    from gonogo.celery import app

    assert "stores.play_sweep" in {e["task"] for e in app.conf.beat_schedule.values()}
    assert {"stores.play_step", "stores.play_read", "stores.play_sweep"} <= set(app.tasks)
