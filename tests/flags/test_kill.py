"""Kill: the board's request → the provider switched off (a fake Unleash that checks the
path, the method and the token), read back, retried with backoff on timeouts and 5xx,
never on a refusal, and the outcome on record and alerted (issue 17, item 1)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from core.errors import Conflict, NotAllowed, RuleViolation
from flags.models import FlagState, Kill, KillStatus
from flags.services import flag_kill, kills_due_requeue, retry_delay
from notifications.models import Channel, Delivery

from ..releases.builders import build_world
from .conftest import TOKEN, unleash_flag
from .flag_servers import Scripted

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any, unleash: Any) -> Any:
    w = build_world(make_user, ready=False)
    w.flag = unleash_flag(w.product, unleash)
    return w


def kill_now(world: Any, *, actor: Any = None, reason: str = "Search returns nothing on iOS 17") -> Kill:
    return flag_kill(flag=world.flag, release=world.release, actor=actor or world.devops, reason=reason)


def test_kill_switches_the_flag_off_at_unleash_and_reads_it_back(world, unleash, queued, attempt) -> None:
    kill = kill_now(world)
    assert queued.ids() == [] and kill.status == KillStatus.PENDING  # queued after commit only

    assert attempt(kill) == "done"

    assert unleash.enabled("search-v2", "production") is False
    assert unleash.enabled("search-v2", "development") is True  # only the flag's environment
    off, read = unleash.seen[0], unleash.seen[1]
    assert (off.method, off.path) == (
        "POST",
        "/api/admin/projects/default/features/search-v2/environments/production/off",
    )
    assert off.headers["authorization"] == TOKEN  # the token itself, no "Bearer"
    assert (read.method, read.path) == ("GET", "/api/admin/projects/default/features/search-v2")
    kill.refresh_from_db()
    world.flag.refresh_from_db()
    assert kill.status == KillStatus.DONE and kill.attempts == 1 and kill.status_code == 200
    assert world.flag.state == FlagState.OFF and world.flag.state_read_at is not None
    actions = list(AuditEvent.objects.filter(object_id=str(world.flag.pk)).values_list("action", flat=True))
    assert "flag.kill" in actions and "flag.killed" in actions
    asked = AuditEvent.objects.get(action="flag.kill")
    assert asked.actor == world.devops and asked.release_id == world.release.pk
    assert asked.after["reason"] == "Search returns nothing on iOS 17"


def test_flag_killed_is_alerted(world, unleash, queued, attempt) -> None:
    channel = Channel.objects.create(
        slug="ops", kind="slack", url_env="GONOGO_TEST_OPS_URL", events=["flag.killed"]
    )
    attempt(kill_now(world))
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.event == "flag.killed"
    assert (
        delivery.data["event"]["flag"] == "search-v2"
        and delivery.data["event"]["by"] == world.devops.username
    )


def test_timeouts_and_5xx_are_retried_with_backoff_then_succeed(world, unleash, queued, attempt) -> None:
    unleash.script = [Scripted(status=503), Scripted(delay=1.5), Scripted(status=429)]
    kill = kill_now(world)

    assert attempt(kill) == "retry"
    kill.refresh_from_db()
    assert kill.status_code == 503 and "tried again" in kill.error
    assert attempt(kill) == "retry"
    kill.refresh_from_db()
    assert kill.status_code is None and "did not answer" in kill.error  # a timeout
    assert attempt(kill) == "retry"
    assert attempt(kill) == "done"

    kill.refresh_from_db()
    assert kill.attempts == 4 and [e["status_code"] for e in kill.log] == [503, None, 429, 200]
    assert [pk for pk in queued.ids()] == [kill.pk] * 3
    countdowns = [c for _pk, c in queued.calls]
    assert countdowns[0] < countdowns[1] < countdowns[2]  # backoff
    assert unleash.enabled("search-v2", "production") is False


def test_five_attempts_span_about_two_minutes() -> None:
    spans = [sum(retry_delay(n) for n in range(1, 5)) for _ in range(20)]
    assert all(100 <= s <= 160 for s in spans)


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (401, "Unleash refused the token (401): check GONOGO_TEST_UNLEASH_TOKEN"),
        (403, "lacks the right to switch flags in “production”"),
        (404, "knows no flag “search-v2” in project “default”"),
    ],
)
def test_a_refusal_is_not_retried_and_says_what_to_fix(
    world, unleash, queued, attempt, status, words
) -> None:
    pagerduty = Channel.objects.create(slug="oncall", kind="pagerduty", routing_key_env="GONOGO_TEST_PD_KEY")
    unleash.script = [Scripted(status=status)]
    kill = kill_now(world)

    assert attempt(kill) == "failed"

    kill.refresh_from_db()
    assert kill.status == KillStatus.FAILED and kill.attempts == 1 and kill.status_code == status
    assert words in kill.error
    assert queued.ids() == []  # not retried
    assert len(unleash.offs()) == 1
    page = Delivery.objects.get(channel=pagerduty)
    assert page.event == "flag.kill_failed" and words in page.data["event"]["error"]
    assert AuditEvent.objects.filter(action="flag.kill_failed", release_id=world.release.pk).exists()


def test_a_wrong_token_is_refused_by_the_fake(world, unleash, queued, attempt, monkeypatch) -> None:
    monkeypatch.setenv("GONOGO_TEST_UNLEASH_TOKEN", "*:production.wrong")
    kill = kill_now(world)
    assert attempt(kill) == "failed"
    kill.refresh_from_db()
    assert kill.status_code == 401 and "You must log in" in kill.error
    assert unleash.enabled("search-v2", "production") is True


def test_every_attempt_failing_pages_and_the_flag_stays_on(world, unleash, queued, attempt, settings) -> None:
    pagerduty = Channel.objects.create(slug="oncall", kind="pagerduty", routing_key_env="GONOGO_TEST_PD_KEY")
    unleash.script = [Scripted(status=500) for _ in range(settings.GONOGO_FLAG_KILL_ATTEMPTS)]
    kill = kill_now(world)
    results = [attempt(kill) for _ in range(settings.GONOGO_FLAG_KILL_ATTEMPTS)]
    assert results == ["retry"] * (settings.GONOGO_FLAG_KILL_ATTEMPTS - 1) + ["failed"]
    assert attempt(kill) == KillStatus.FAILED  # run again: nothing more is sent
    assert len(unleash.offs()) == settings.GONOGO_FLAG_KILL_ATTEMPTS
    assert Delivery.objects.filter(channel=pagerduty, event="flag.kill_failed").count() == 1
    assert unleash.enabled("search-v2", "production") is True


def test_accepted_but_still_on_when_read_back_is_not_done(world, unleash, queued, attempt) -> None:
    """Unleash answers 200 but reads back on (a change request, a racing toggle): retried."""
    unleash.script = [Scripted(status=200, body={})]  # the POST "succeeds" without switching
    kill = kill_now(world)
    assert attempt(kill) == "retry"
    kill.refresh_from_db()
    world.flag.refresh_from_db()
    assert "still reports the flag on" in kill.error and world.flag.state == FlagState.ON
    assert attempt(kill) == "done"


def test_only_devops_and_pm_may_kill(world, make_user) -> None:
    for role in Role.values:
        user = make_user(role, product=world.product)
        if role in (Role.DEVOPS, Role.PM):
            kill = flag_kill(flag=world.flag, release=world.release, actor=user, reason="r")
            Kill.objects.filter(pk=kill.pk).update(status=KillStatus.DONE)
        else:
            with pytest.raises(NotAllowed):
                flag_kill(flag=world.flag, release=world.release, actor=user, reason="r")
    assert AuditEvent.objects.filter(action="flag.kill").count() == 2


def test_a_reason_is_required_and_one_kill_at_a_time(world) -> None:
    with pytest.raises(RuleViolation) as refused:
        kill_now(world, reason="  ")
    assert refused.value.field == "reason"
    kill_now(world)
    with pytest.raises(Conflict) as twice:
        kill_now(world)
    assert twice.value.code == "kill_pending"
    assert Kill.objects.count() == 1


def test_an_inactive_flag_cannot_be_killed(world) -> None:
    world.flag.active = False
    world.flag.save()
    with pytest.raises(Conflict):
        kill_now(world)


def test_the_sweep_queues_kills_whose_message_was_lost(world, queued) -> None:
    kill = kill_now(world)
    assert kills_due_requeue() == 0  # just asked: its message is on its way
    Kill.objects.filter(pk=kill.pk).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    assert kills_due_requeue() == 1 and queued.ids() == [kill.pk]
    Kill.objects.filter(pk=kill.pk).update(status=KillStatus.DONE)
    assert kills_due_requeue() == 0
