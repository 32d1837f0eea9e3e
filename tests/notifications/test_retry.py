"""Retries: exponential backoff with full jitter, a failed delivery once out of attempts,
one failing channel delaying no other, never two sends of one delivery; and the whole
path through a real Celery worker and Redis."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from notifications.models import Delivery
from notifications.services import MAX_DELAY_SECONDS, retry_delay
from releases.events import event_emit

from ..releases.builders import build_world
from ..test_celery import broker
from .channel_servers import Answer, FakeSlack
from .conftest import Queued, slack_channel
from .test_sending import AUTO_HALT


def test_the_wait_grows_exponentially_with_full_jitter() -> None:
    random.seed(14)
    for attempt in range(1, 8):
        ceiling = 30 * 2 ** (attempt - 1)
        waits = [retry_delay(attempt, base=30) for _ in range(400)]
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > 0.9 * ceiling and min(waits) < 0.1 * ceiling  # spread over the whole range
    assert retry_delay(40, base=30) <= MAX_DELAY_SECONDS
    assert retry_delay(1, base=1, retry_after=120) >= 120  # a 429's Retry-After is honoured


@pytest.mark.django_db
def test_out_of_attempts_the_delivery_fails_with_the_last_answer(
    make_user: Any, slack: FakeSlack, queued: Queued, settings: Any, send: Any
) -> None:
    settings.GONOGO_ALERT_MAX_ATTEMPTS = 3
    world = build_world(make_user)
    slack_channel()
    slack.answers = [Answer(500, b"rollup_error"), Answer(502, b"bad gateway"), Answer(503, b"no_service")]
    event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
    delivery = Delivery.objects.get()
    assert [send(delivery, due=True) for _ in range(3)] == ["retry", "retry", "failed"]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 3, "no_service")
    assert [(a.number, a.status_code) for a in delivery.attempt_log.order_by("number")] == [
        (1, 500),
        (2, 502),
        (3, 503),
    ]
    assert send(delivery, due=True) == "failed" and len(slack.requests) == 3


@pytest.mark.django_db
def test_one_failing_channel_delays_no_other(
    make_user: Any,
    queued: Queued,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
    send: Any,
) -> None:
    broken, working = FakeSlack([Answer(500, b"rollup_error")] * 5).start(), FakeSlack().start()
    try:
        monkeypatch.setenv("GONOGO_TEST_BROKEN_URL", broken.url)
        monkeypatch.setenv("GONOGO_TEST_WORKING_URL", working.url)
        world = build_world(make_user)
        slack_channel("broken", url_env="GONOGO_TEST_BROKEN_URL")
        slack_channel("working", url_env="GONOGO_TEST_WORKING_URL")
        with django_capture_on_commit_callbacks(execute=True):
            event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
        first, second = Delivery.objects.order_by("pk")
        # Each delivery is its own task: both are queued at once, neither waits for the other.
        assert queued.calls == [(first.pk, 0.0), (second.pk, 0.0)]
        assert send(first) == "retry"
        assert send(second) == "sent"
        first.refresh_from_db()
        second.refresh_from_db()
        # The working channel's message went out at its first attempt while the broken
        # one's waits for its retry (a random wait: full jitter may make it any moment).
        assert second.sent_at and first.sent_at is None and first.status == "pending"
        assert first.next_attempt_at is not None
        assert second.attempts == 1 and len(working.received) == 1
    finally:
        broken.stop()
        working.stop()


@pytest.mark.django_db
def test_a_task_delivered_twice_sends_once(
    make_user: Any, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    event_emit("rollout.completed", release=world.release, data={"by": "devops"})
    delivery = Delivery.objects.get()
    assert send(delivery) == "sent"
    assert send(delivery) == "sent"
    assert len(slack.requests) == 1 and delivery.attempt_log.count() == 1


def test_a_delivery_another_worker_holds_is_left_to_it(
    postgres_tx: Any, make_user: Any, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    event_emit("rollout.completed", release=world.release, data={"by": "devops"})
    delivery = Delivery.objects.get()
    locked, release_lock = threading.Event(), threading.Event()

    def other_worker() -> None:
        with transaction.atomic():
            Delivery.objects.select_for_update().get(pk=delivery.pk)
            locked.set()
            release_lock.wait(10)
        connection.close()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert send(delivery) == "busy"
        assert slack.requests == []
    finally:
        release_lock.set()
        thread.join()
    # Claimed by a worker that then died: nobody sends it until its claim lapses.
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=1, next_attempt_at=timezone.now() + timedelta(seconds=120)
    )
    assert send(delivery) == "not_due"
    assert send(delivery, now=timezone.now() + timedelta(seconds=121)) == "sent"
    delivery.refresh_from_db()
    assert delivery.attempt_log.get().number == 2 and len(slack.received) == 1


def test_a_real_worker_retries_with_backoff_and_the_other_channel_is_not_held_up(
    redis_url: str, transactional_db: Any, make_user: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.GONOGO_ALERT_RETRY_BASE_SECONDS = 0.3
    flaky, steady = FakeSlack([Answer(500, b"rollup_error")]).start(), FakeSlack().start()
    try:
        monkeypatch.setenv("GONOGO_TEST_FLAKY_URL", flaky.url)
        monkeypatch.setenv("GONOGO_TEST_STEADY_URL", steady.url)
        world = build_world(make_user)
        slack_channel("flaky", url_env="GONOGO_TEST_FLAKY_URL")
        slack_channel("steady", url_env="GONOGO_TEST_STEADY_URL")
        with broker(redis_url):
            with transaction.atomic():
                event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
            flaky.wait_for(1)
            steady.wait_for(1)
            deadline = time.monotonic() + 15
            while Delivery.objects.filter(status="pending").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}
        assert len(flaky.requests) == 2 and len(flaky.received) == 1 and len(steady.requests) == 1
        assert steady.received[0].at < flaky.requests[1].at  # not held up by the other's retry
        retried = Delivery.objects.get(channel__slug="flaky")
        assert [a.ok for a in retried.attempt_log.order_by("number")] == [False, True]
    finally:
        flaky.stop()
        steady.stop()


@pytest.mark.django_db
def test_a_channel_switched_off_meanwhile_is_not_sent(
    make_user: Any, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    channel = slack_channel()
    event_emit("rollout.completed", release=world.release, data={"by": "devops"})
    channel.active = False
    channel.save()
    delivery = Delivery.objects.get()
    assert send(delivery) == "failed"
    delivery.refresh_from_db()
    assert delivery.last_error == "the channel was switched off before it was sent" and slack.requests == []
