"""Celery tasks for Google Play: thin, taking ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from releases.models import Release


@shared_task(name="stores.play_step")
def play_step_task(call_id: int) -> str:
    """One attempt at one step; a failure schedules the next itself. After a step Play
    took, the track is read back."""
    from . import play_readback, play_services

    result = play_services.play_step_run(call_id=call_id)
    if result == "done":
        release = Release.objects.filter(play_calls__pk=call_id).first()
        if release is not None:
            play_readback.play_track_read(release=release)
    return result


@shared_task(name="stores.play_read")
def play_read_task(release_id: int) -> str:
    from . import play_readback

    release = Release.objects.filter(pk=release_id).first()
    if release is None:
        return "gone"
    reading = play_readback.play_track_read(release=release)
    return "no_source" if reading is None else ("error" if reading.error else "read")


@shared_task(name="stores.play_sweep")
def play_sweep_task() -> int:
    """Beat: queue again the steps whose message was lost; read the tracks that are due."""
    from . import play_readback, play_services

    queued = play_services.calls_due_requeue()
    return queued + play_readback.reads_enqueue(play_readback.reads_due())
