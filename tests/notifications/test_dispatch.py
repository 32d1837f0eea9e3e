"""From a release event to deliveries: one per channel that wants it, stored in the
emitter's transaction, queued after commit only; a lost message is queued again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from gonogo.celery import app
from notifications.dispatch import deliveries_due_requeue
from notifications.models import Channel, Delivery
from releases.events import event_emit

from ..releases.builders import build_world
from ..releases.factories import ProductFactory
from .conftest import Queued, pagerduty_channel, slack_channel, webhook_channel

pytestmark = pytest.mark.django_db

HALT = {"halt": {"kind": "breach", "metric": "error_rate", "value": 0.09, "bound": 0.01}, "automatic": True}


def test_one_delivery_per_channel_that_wants_the_event(
    make_user: Any, queued: Queued, django_capture_on_commit_callbacks: Any
) -> None:
    world = build_world(make_user)
    everything = slack_channel("all")
    halts = webhook_channel("halts", events=["rollout.halted"])
    mine = slack_channel("mine")
    mine.products.set([world.product])
    theirs = slack_channel("theirs")
    theirs.products.set([ProductFactory(slug="other")])
    slack_channel("off", active=False)
    paging = pagerduty_channel()

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        event_emit("rollout.started", release=world.release, data={"stage_percent": 1}, actor=world.pm)
        assert queued.calls == []  # nothing leaves before the commit
    assert callbacks
    started = Delivery.objects.filter(event="rollout.started")
    assert {d.channel.slug for d in started} == {"all", "mine"}
    assert sorted(queued.ids()) == sorted(d.pk for d in started)
    delivery = started.get(channel=everything)
    assert delivery.release == world.release and delivery.product == world.product
    assert delivery.data["event"] == {"stage_percent": 1}
    assert delivery.data["release"]["version"] == "1.0.0" and delivery.data["language"] == "en"
    assert delivery.data["release"]["board_url"].endswith(f"/releases/{world.product.slug}/1.0.0/")
    assert delivery.message_id.startswith("msg_") and delivery.status == "pending"

    with django_capture_on_commit_callbacks(execute=True):
        event_emit("rollout.halted", release=world.release, data=HALT)
    halted = Delivery.objects.filter(event="rollout.halted")
    assert {d.channel for d in halted} == {everything, halts, mine, paging}


def test_pagerduty_is_sent_only_what_it_acts_on(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user)
    paging = pagerduty_channel()
    by_person = {"halt": {"kind": "person", "reason": "odd graphs", "by": "devops"}, "automatic": False}
    for event, data in [
        ("decision.go", {"by": "pm"}),
        ("rollout.started", {"stage_percent": 1}),
        ("rollout.halted", by_person),
        ("rollout.halted", HALT),
        ("health.breach", {"breaches": [], "halted": True}),
        # After the rollout nothing would resolve a page: only the chat channels hear of it.
        ("health.breach", {"breaches": [], "halted": False, "state": "released"}),
        ("rollout.resumed", {"stage_percent": 5}),
        ("rollback.recorded", {"minutes": 9}),
        ("rollout.completed", {}),
    ]:
        event_emit(event, release=world.release, data=data)
    sent = list(Delivery.objects.filter(channel=paging).order_by("pk").values_list("event", flat=True))
    assert sent == [
        "rollout.halted",
        "health.breach",
        "rollout.resumed",
        "rollback.recorded",
        "rollout.completed",
    ]


def test_a_rolled_back_transaction_leaves_no_delivery_and_queues_nothing(
    make_user: Any, queued: Queued, django_capture_on_commit_callbacks: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
        raise RuntimeError("the emitter failed after the event")
    assert not Delivery.objects.exists() and queued.calls == []


def test_the_test_event_is_never_broadcast(make_user: Any, queued: Queued) -> None:
    slack_channel()
    event_emit("channel.test", data={"by": "x"})
    assert not Delivery.objects.exists()


def test_creating_deliveries_costs_the_same_queries_for_2_or_20_channels(
    make_user: Any, queued: Queued
) -> None:
    world = build_world(make_user)

    def cost() -> int:
        with CaptureQueriesContext(connection) as ctx:
            event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
        return len(ctx.captured_queries)

    for i in range(2):
        slack_channel(f"c{i}").products.set([world.product])
    small = cost()
    for i in range(2, 20):
        slack_channel(f"c{i}").products.set([world.product])
    assert cost() == small
    assert Delivery.objects.filter(event="rollout.started").count() == 22


def test_the_sweep_queues_again_what_is_pending_and_past_its_time(make_user: Any, queued: Queued) -> None:
    world = build_world(make_user)
    channel = slack_channel()
    now = timezone.now()
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    lost = Delivery.objects.get()
    Delivery.objects.filter(pk=lost.pk).update(next_attempt_at=now - timedelta(minutes=5))
    later = Delivery.objects.create(
        channel=channel,
        event="rollout.completed",
        message_id="msg_later",
        next_attempt_at=now + timedelta(minutes=5),
    )
    done = Delivery.objects.create(
        channel=channel, event="rollout.completed", message_id="msg_done", status="sent", next_attempt_at=None
    )
    queued.clear()
    assert deliveries_due_requeue(now=now) == 1
    assert queued.ids() == [lost.pk]
    assert later.pk not in queued.ids() and done.pk not in queued.ids()
    assert Channel.objects.count() == 1


def test_the_beat_runs_the_sweep_and_the_announcements() -> None:
    app.loader.import_default_modules()  # the workers' autodiscovery of each app's tasks.py
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    for task in (
        "notifications.sweep",
        "gates.waivers_expiring_announce",
        "reviews.action_items_overdue_announce",
    ):
        assert task in scheduled and task in app.tasks
    assert "notifications.send" in app.tasks


@pytest.mark.django_db
def test_a_pagerduty_channel_always_hears_what_resolves_its_incidents() -> None:

    paged = Channel(slug="pd", kind="pagerduty", routing_key_env="GONOGO_PD_KEY", events=["health.breach"])
    paged.save()
    assert paged.wants("rollback.recorded", None) and paged.wants("rollout.resumed", None)
    assert not paged.wants("decision.go", None)
    slack = Channel(slug="sl", kind="slack", url_env="GONOGO_SL_URL", events=["health.breach"])
    slack.save()
    assert not slack.wants("rollback.recorded", None)  # only PagerDuty has incidents to resolve
