"""Each channel kind, sent for real to a local server that answers as the real one does:
Slack (Block Kit, its text errors), a Standard Webhooks receiver (the signature checked
by the test's own implementation), e-mail over SMTP (aiosmtpd), PagerDuty Events API v2."""

from __future__ import annotations

import email
import email.policy
import random
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from notifications.models import Delivery
from releases.events import event_emit

from ..releases.builders import build_world
from .channel_servers import Answer, FakePagerDuty, FakeSlack, FakeWebhookReceiver
from .conftest import ROUTING_KEY, Inbox, Queued, pagerduty_channel, slack_channel, webhook_channel

pytestmark = pytest.mark.django_db

BREACH = {
    "kind": "breach",
    "metric": "error_rate",
    "value": 0.09,
    "bound": 0.01,
    "minimum": False,
    "source": "prometheus",
    "sampled_at": "2026-12-01T07:35:00+00:00",
    "by": "prometheus",
    "at": "2026-12-01T07:35:02+00:00",
}
AUTO_HALT = {"halt": BREACH, "automatic": True}


def only(event: str) -> Delivery:
    return Delivery.objects.select_related("channel").get(event=event)


def test_slack_gets_block_kit_and_a_500_is_tried_again_until_ok(
    make_user: Any, slack: FakeSlack, queued: Queued, settings: Any, send: Any
) -> None:
    settings.GONOGO_ALERT_RETRY_BASE_SECONDS = 10
    random.seed(5)  # a wait of some seconds: the retry is not due at once
    world = build_world(make_user)
    slack_channel()
    slack.answers = [Answer(500, b"rollup_error")]
    event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
    delivery = only("rollout.halted")

    assert send(delivery) == "retry"
    delivery.refresh_from_db()
    first = delivery.attempt_log.get()
    assert (first.number, first.ok, first.status_code, first.error) == (1, False, 500, "rollup_error")
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_error == "rollup_error"
    ((_pk, countdown),) = queued.calls
    assert 0 < countdown <= 10
    assert (
        delivery.next_attempt_at
        and abs((delivery.next_attempt_at - first.at).total_seconds() - countdown) < 0.5
    )
    assert send(delivery) == "not_due"  # the retry waits its turn

    assert send(delivery, due=True) == "sent"
    delivery.refresh_from_db()
    assert delivery.status == "sent" and delivery.sent_at and delivery.last_error == ""
    assert [a.ok for a in delivery.attempt_log.order_by("number")] == [False, True]
    assert len(slack.requests) == 2 and len(slack.received) == 1
    body = slack.received[0].json()
    blocks = {b["type"]: b for b in body["blocks"]}
    assert blocks["header"]["text"]["text"] == "Rollout halted automatically"
    section = blocks["section"]["text"]["text"]
    assert f"*{world.product.name} 1.0.0 · build 10*" in section
    assert "error rate 9.0 % is over the bound 1.0 % — Prometheus, 07:35" in section
    button = blocks["actions"]["elements"][0]
    assert button["text"]["text"] == "Open the board"
    assert button["url"] == f"{settings.GONOGO_BASE_URL}/releases/{world.product.slug}/1.0.0/"
    assert "Go/No-Go" in blocks["context"]["elements"][0]["text"]
    assert body["text"].startswith(f"Rollout halted automatically — {world.product.name} 1.0.0")
    assert send(delivery) == "sent"  # run again: nothing more is sent
    assert len(slack.requests) == 2


def test_slack_refusing_the_payload_fails_at_once_with_its_answer(
    make_user: Any, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    slack.answers = [Answer(400, b"invalid_payload")]
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    delivery = only("rollout.started")
    assert send(delivery) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error, delivery.attempts) == ("failed", "invalid_payload", 1)
    assert queued.calls == []  # no retry is queued


def test_a_missing_variable_is_a_failed_attempt_that_says_which(
    make_user: Any, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel(url_env="GONOGO_TEST_NOT_SET_URL")
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    delivery = only("rollout.started")
    assert send(delivery) == "retry"
    assert (
        delivery.attempt_log.get().error == "GONOGO_TEST_NOT_SET_URL is not set in the server's environment"
    )


def test_the_webhook_is_signed_per_standard_webhooks_with_the_same_id_on_a_retry(
    make_user: Any, receiver: FakeWebhookReceiver, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    webhook_channel()
    receiver.answers = [Answer(503, b"busy")]
    event_emit(
        "rollout.advanced",
        release=world.release,
        actor=world.pm,
        data={"from_percent": 1, "stage_percent": 5, "by": "devops"},
    )
    delivery = only("rollout.advanced")
    assert send(delivery) == "retry"
    assert delivery.attempt_log.get().error == "HTTP 503: busy"
    assert send(delivery, due=True) == "sent"

    first, second = receiver.requests
    assert receiver.received == [second]
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    assert second.headers["content-type"] == "application/json"
    body = second.json()
    assert body["type"] == "rollout.advanced"
    assert body["timestamp"].startswith(str(timezone.now().year))
    assert body["data"] == {
        "product": world.product.slug,
        "product_name": world.product.name,
        "version": "1.0.0",
        "build": 10,
        "board_url": body["data"]["board_url"],
        "summary": f"Rollout advanced from 1 % to 5 % — {world.product.name} 1.0.0 · build 10",
        "from_percent": 1,
        "stage_percent": 5,
        "by": "devops",
    }
    assert body["data"]["board_url"].endswith(f"/releases/{world.product.slug}/1.0.0/")


def test_a_webhook_with_the_wrong_secret_is_refused_by_the_receiver(
    make_user: Any, receiver: FakeWebhookReceiver, queued: Queued, monkeypatch: pytest.MonkeyPatch, send: Any
) -> None:
    monkeypatch.setenv("GONOGO_TEST_HOOK_SECRET", "whsec_" + "QUJD" * 8)
    world = build_world(make_user)
    webhook_channel()
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    delivery = only("rollout.started")
    assert send(delivery) == "retry"
    assert delivery.attempt_log.get().error == "HTTP 401: bad signature"
    assert receiver.received == []


def test_email_goes_over_smtp_in_the_products_language(
    make_user: Any, smtp: Inbox, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    world.release.product.language = "ko"
    world.release.product.save()
    channel = slack_channel(slug="mail", kind="email", url_env="", email="ops@example.com")
    event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
    delivery = only("rollout.halted")
    assert delivery.channel == channel and delivery.data["language"] == "ko"
    assert send(delivery) == "sent"

    (envelope,) = smtp.messages
    assert envelope.rcpt_tos == ["ops@example.com"]
    mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    subject = str(mail["Subject"])
    assert subject.startswith("[Go/No-Go] 배포 자동 중단") and "1.0.0" in subject
    text = mail.get_body(preferencelist=("plain",)).get_content()
    assert "에러율 9.0 %" in text and "/releases/" in text
    assert mail["X-Gonogo-Message-Id"] == delivery.message_id


def test_email_without_a_mail_server_fails_saying_so(
    make_user: Any, settings: Any, queued: Queued, send: Any
) -> None:
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"host": ""}}
    }
    world = build_world(make_user)
    slack_channel(slug="mail", kind="email", url_env="", email="ops@example.com")
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    delivery = only("rollout.started")
    assert send(delivery) == "failed"
    assert delivery.attempt_log.get().error == "no mail server: set GONOGO_SMTP_HOST"


def test_pagerduty_triggers_on_an_automatic_halt_and_resolves_on_rollback(
    make_user: Any, pagerduty: FakePagerDuty, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    pagerduty_channel()
    event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
    event_emit(
        "rollback.recorded", release=world.release, data={"minutes": 9, "target_minutes": 15, "by": "devops"}
    )
    for delivery in Delivery.objects.order_by("pk"):
        assert send(delivery) == "sent"

    key = f"gonogo/{world.product.slug}/1.0.0"
    assert pagerduty.actions() == [("trigger", key), ("resolve", key)]
    trigger, resolve = (r.json() for r in pagerduty.received)
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    payload = trigger["payload"]
    assert payload["severity"] == "critical" and payload["source"] == world.product.slug
    assert payload["summary"].startswith(f"Rollout halted automatically — {world.product.name} 1.0.0")
    assert "error rate 9.0 % is over the bound 1.0 %" in payload["summary"]
    assert (
        payload["class"] == "rollout.halted"
        and payload["custom_details"]["event"]["halt"]["metric"] == "error_rate"
    )
    assert trigger["links"][0]["href"].endswith(f"/releases/{world.product.slug}/1.0.0/")
    assert set(resolve) == {"routing_key", "event_action", "dedup_key"}


def test_pagerduty_refusing_the_event_fails_at_once_and_a_429_is_tried_again(
    make_user: Any, pagerduty: FakePagerDuty, queued: Queued, monkeypatch: pytest.MonkeyPatch, send: Any
) -> None:
    world = build_world(make_user)
    pagerduty_channel()
    pagerduty.answers = [
        Answer(
            429,
            b'{"status": "throttle event", "message": "Requests for this service are arriving too quickly."}',
            "application/json",
        )
    ]
    event_emit(
        "health.breach",
        release=world.release,
        data={"breaches": [BREACH], "source": "prometheus", "halted": True},
    )
    delivery = only("health.breach")
    assert send(delivery) == "retry"
    assert delivery.attempt_log.get().status_code == 429
    assert send(delivery, due=True) == "sent"

    monkeypatch.setenv("GONOGO_TEST_PD_KEY", "not-the-key")
    event_emit("rollout.completed", release=world.release, data={"by": "devops"})
    done = only("rollout.completed")
    assert send(done) == "failed"
    done.refresh_from_db()
    assert done.last_error == "HTTP 400: invalid event; Event object is invalid; 'routing_key' is invalid"


def test_a_resolve_waits_for_its_trigger_still_being_retried(
    make_user: Any, pagerduty: FakePagerDuty, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    pagerduty_channel()
    pagerduty.answers = [Answer(500, b"")]
    event_emit("rollout.halted", release=world.release, data=AUTO_HALT)
    trigger = only("rollout.halted")
    assert send(trigger) == "retry"
    event_emit("rollout.resumed", release=world.release, data={"stage_percent": 1, "by": "devops"})
    resolve = only("rollout.resumed")
    assert send(resolve) == "waiting"
    assert resolve.attempt_log.count() == 0
    trigger.refresh_from_db()
    resolve.refresh_from_db()
    assert (
        resolve.next_attempt_at
        and trigger.next_attempt_at
        and resolve.next_attempt_at > trigger.next_attempt_at
    )
    assert send(trigger, due=True) == "sent"
    assert send(resolve, due=True) == "sent"
    assert [a for a, _k in pagerduty.actions()] == ["trigger", "resolve"]


def test_an_old_pending_delivery_is_sent_when_the_sweep_brings_it_back(
    make_user: Any, slack: FakeSlack, queued: Queued, send: Any
) -> None:
    world = build_world(make_user)
    slack_channel()
    event_emit("rollout.started", release=world.release, data={"stage_percent": 1})
    delivery = only("rollout.started")
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(hours=1))
    assert send(delivery) == "sent"
    assert len(slack.received) == 1
