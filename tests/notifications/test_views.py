"""The channel pages: who sees them, what they show (variable names, never secrets), the
delivery log, and the Send test button per role with its outcome shown live."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from notifications.models import Delivery, DeliveryAttempt
from notifications.signals import channel_test_delivered
from releases.events import event_emit

from ..releases.builders import build_world
from ..releases.factories import ProductFactory
from .channel_servers import Answer, FakeSlack
from .conftest import Queued, slack_channel, webhook_channel
from .test_sending import AUTO_HALT

pytestmark = pytest.mark.django_db

SECRET_URL_PART = "T0001/B0001/abcdefghijklmnop"


def channel_url(slug: str) -> str:
    return reverse("notifications:channel", kwargs={"slug": slug})


def test_devops_and_pm_see_the_channels_and_others_do_not(make_user: Any, client: Client) -> None:
    world = build_world(make_user)
    mine = slack_channel("mine")
    mine.products.set([world.product])
    theirs = slack_channel("theirs")
    theirs.products.set([ProductFactory(slug="other")])
    webhook_channel("everyone")
    listing = reverse("notifications:channels")

    for role in (Role.DEVOPS, Role.PM):
        client.force_login(make_user(role, product=world.product))
        html = client.get(listing).content.decode()
        assert "mine" in html and "everyone" in html and "theirs" not in html
        assert 'href="/channels/"' in client.get(reverse("board:dashboard")).content.decode()
        assert client.get(channel_url("theirs")).status_code == 403
    client.force_login(make_user(Role.QA, product=world.product))
    assert client.get(listing).status_code == 403
    assert client.get(channel_url("mine")).status_code == 403
    assert 'href="/channels/"' not in client.get(reverse("board:dashboard")).content.decode()
    client.force_login(make_user(is_superuser=True, is_staff=True))
    html = client.get(listing).content.decode()
    assert "mine" in html and "theirs" in html


def test_the_pages_name_variables_never_their_values(
    make_user: Any, client: Client, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONOGO_TEST_HOOK_SECRET", "whsec_c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du")
    world = build_world(make_user)
    slack_channel()
    webhook_channel(url_env="GONOGO_TEST_UNSET_URL")
    client.force_login(world.devops)
    for url in (reverse("notifications:channels"), channel_url("ops-slack"), channel_url("hooks")):
        html = client.get(url).content.decode()
        assert SECRET_URL_PART not in html and "c2VjcmV0" not in html
    html = client.get(channel_url("hooks")).content.decode()
    assert "GONOGO_TEST_UNSET_URL" in html and "not set on this server" in html
    assert "GONOGO_TEST_HOOK_SECRET" in html and "signing secret" in html
    assert "GONOGO_TEST_SLACK_URL" in client.get(channel_url("ops-slack")).content.decode()


def test_the_delivery_log_shows_each_delivery_and_its_attempts(
    make_user: Any, client: Client, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    slack.answers = [Answer(500, b"rollup_error")]
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
    started, halted = Delivery.objects.order_by("pk")
    send(started)  # 500: waits for its retry
    send(halted)  # sent
    client.force_login(world.devops)
    html = client.get(channel_url("ops-slack")).content.decode()

    assert html.index(f'id="delivery-{halted.pk}"') < html.index(
        f'id="delivery-{started.pk}"'
    )  # newest first
    row = html.split(f'id="delivery-{started.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "◷</span> Waiting to be sent" in row and "rollup_error" in row and "HTTP 500" in row
    assert "<details>" in row and "next try" in row
    row = html.split(f'id="delivery-{halted.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "✓</span> Sent" in row and "Rollout halted automatically" in row
    assert f"{world.product.slug} 1.0.0" in row
    assert 'hx-trigger="every 2s"' in html  # a delivery is pending: the log refreshes itself
    fragment = client.get(channel_url("ops-slack"), headers={"HX-Request": "true", "HX-Target": "deliveries"})
    assert fragment.content.decode().lstrip().startswith('<section id="deliveries"')

    listing = client.get(reverse("notifications:channels")).content.decode()
    assert "✓</span> Sent" in listing and "rollout.halted" in listing


def test_the_log_is_paged_and_its_queries_do_not_grow(make_user: Any, client: Client, queued: Queued) -> None:
    world = build_world(make_user)
    channel = slack_channel()
    client.force_login(world.devops)

    def add(count: int) -> None:
        for _ in range(count):
            event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
        for delivery in Delivery.objects.filter(attempts=0):
            for n in (1, 2):
                DeliveryAttempt.objects.create(delivery=delivery, number=n, ok=False, error="x")
            Delivery.objects.filter(pk=delivery.pk).update(attempts=2)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(channel_url(channel.slug)).status_code == 200
        return len(ctx.captured_queries)

    add(3)
    queries()  # the first request of a session does more (the session itself)
    small = queries()
    add(57)
    assert queries() == small
    html = client.get(channel_url(channel.slug)).content.decode()
    assert html.count('id="delivery-') == 25 and "page 1 of 3" in html
    assert client.get(channel_url(channel.slug) + "?page=3").content.decode().count('id="delivery-') == 10


@pytest.mark.parametrize("role", list(Role))
def test_send_test_is_for_devops_and_pm(role: str, make_user: Any, client: Client, queued: Queued) -> None:
    world = build_world(make_user)
    channel = slack_channel()
    channel.products.set([world.product])
    client.force_login(make_user(role, product=world.product))
    response = client.post(reverse("notifications:channel_test", kwargs={"slug": channel.slug}))
    if role in (Role.DEVOPS, Role.PM):
        assert response.status_code == 302
        test = Delivery.objects.get(event="channel.test")
        assert test.channel == channel and test.requested_by is not None
        assert AuditEvent.objects.filter(action="channel.test", object_id=str(channel.pk)).count() == 1
    else:
        assert response.status_code == 403 and not Delivery.objects.exists()


def test_an_administrator_sees_but_does_not_send_a_test(
    make_user: Any, client: Client, queued: Queued
) -> None:
    slack_channel()
    client.force_login(make_user(is_superuser=True, is_staff=True))
    assert "Send test" not in client.get(channel_url("ops-slack")).content.decode()
    assert client.post(reverse("notifications:channel_test", kwargs={"slug": "ops-slack"})).status_code == 403


def test_a_delivered_test_says_when_and_by_whom_and_sends_the_signal(
    make_user: Any,
    client: Client,
    slack: FakeSlack,
    queued: Queued,
    django_capture_on_commit_callbacks: Any,
    send: Any,
) -> None:
    world = build_world(make_user)
    slack_channel()
    heard: list[dict[str, Any]] = []

    def listener(**kwargs: Any) -> None:
        heard.append(kwargs)

    channel_test_delivered.connect(listener)
    try:
        client.force_login(world.devops)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("notifications:channel_test", kwargs={"slug": "ops-slack"}),
                headers={"HX-Request": "true", "HX-Target": "deliveries"},
            )
        html = response.content.decode()
        assert response.status_code == 200 and html.lstrip().startswith('<section id="deliveries"')
        assert "Test queued" in html and 'hx-trigger="every 2s"' in html
        test = Delivery.objects.get(event="channel.test")
        assert queued.ids() == [test.pk]
        assert heard == []

        assert send(test) == "sent"
        test.refresh_from_db()
        assert len(heard) == 1
        assert heard[0]["channel"].slug == "ops-slack" and heard[0]["delivery"].pk == test.pk
        assert heard[0]["by"] == world.devops and heard[0]["at"] == test.sent_at
        body = slack.received[0].json()
        assert body["blocks"][0]["text"]["text"] == "Test alert"
        assert f"Sent by {world.devops.get_username()}." in body["blocks"][1]["text"]["text"]

        html = client.get(channel_url("ops-slack")).content.decode()
        assert "Delivered at" in html and f"(test by {world.devops.get_username()})" in html
        assert 'hx-trigger="every 2s"' not in html  # nothing pending: no more polling
    finally:
        channel_test_delivered.disconnect(listener)


def test_a_failed_test_says_why(
    make_user: Any, client: Client, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    slack.answers = [Answer(404, b"no_service")]
    client.force_login(world.pm)
    client.post(reverse("notifications:channel_test", kwargs={"slug": "ops-slack"}))
    test = Delivery.objects.get(event="channel.test")
    assert send(test) == "failed"
    html = client.get(channel_url("ops-slack")).content.decode()
    assert (
        "✗</span> Failed" in html
        and "failed after 1 attempt:" in html
        and "<strong>no_service</strong>" in html
    )


def test_a_switched_off_channel_refuses_a_test_saying_so(
    make_user: Any, client: Client, queued: Queued
) -> None:
    world = build_world(make_user)
    slack_channel(active=False)
    client.force_login(world.devops)
    response = client.post(
        reverse("notifications:channel_test", kwargs={"slug": "ops-slack"}),
        headers={"HX-Request": "true", "HX-Target": "deliveries"},
    )
    assert response.status_code == 409 and "switched off" in response.content.decode()
    assert not Delivery.objects.exists()
