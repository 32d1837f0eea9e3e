"""Celery runs real tasks through a real broker: Redis in CI and production, kombu's
filesystem transport for `make run` with nothing set."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from audit.models import AuditEvent
from gates.services import waiver_approve, waiver_request
from gates.tasks import waivers_expire_announce_task
from gonogo.celery import app

from .releases.builders import build_world


def reset_pool() -> None:
    """Forget pooled connections so the next message goes to the broker now configured."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url: str, options: dict[str, Any] | None = None) -> Iterator[None]:
    saved = (app.conf.broker_url, app.conf.broker_transport_options, app.conf.task_always_eager)
    app.conf.update(broker_url=url, broker_transport_options=options or {}, task_always_eager=False)
    reset_pool()
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.update(broker_url=saved[0], broker_transport_options=saved[1], task_always_eager=saved[2])
        reset_pool()


def lapsed_waiver(make_user: Any) -> int:
    world = build_world(make_user)
    from gates.services import gate_result_record

    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="x")
    waiver = waiver_request(
        release=world.release,
        gate=world.gates[0],
        actor=world.lead,
        reason="r",
        risk="r",
        mitigation="m",
        expires_at=timezone.now() + timedelta(seconds=1),
    )
    waiver_approve(waiver=waiver, actor=world.pm)
    time.sleep(1.1)
    return waiver.pk


def wait_for_expiry_event(pk: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if AuditEvent.objects.filter(action="waiver.expired", object_id=str(pk)).exists():
            return
        time.sleep(0.1)
    pytest.fail("the worker did not run the task")


def test_task_runs_through_redis(redis_url: str, transactional_db: Any, make_user: Any) -> None:
    pk = lapsed_waiver(make_user)
    with broker(redis_url):
        waivers_expire_announce_task.delay()
        wait_for_expiry_event(pk)


def test_task_runs_through_the_filesystem_broker(
    tmp_path: Path, transactional_db: Any, make_user: Any
) -> None:
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(tmp_path),
        "control_folder": str(tmp_path / "control"),
    }
    pk = lapsed_waiver(make_user)
    with broker("filesystem://", options):
        waivers_expire_announce_task.delay()
        wait_for_expiry_event(pk)


def test_beat_schedules_the_waiver_expiry_task() -> None:
    entries = {e["task"] for e in app.conf.beat_schedule.values()}
    assert "gates.waivers_expire_announce" in entries
    assert "gates.waivers_expire_announce" in app.tasks
