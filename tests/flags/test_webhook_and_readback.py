"""The signed webhook provider (a receiver that checks the Standard Webhooks signature),
the read-back on a schedule (a flag turned back on outside is seen), and which releases
ship a flag by default (issue 17, item 1)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from board.decisions import release_decide
from board.lifecycle import release_create
from board.rollout import release_halt_by, release_rollout_start
from flags.models import FlagShip, FlagState, KillStatus
from flags.readback import flags_due, flags_read_due
from flags.services import flag_kill, flag_ship_set

from ..releases.builders import build_world
from .conftest import SECRET, unleash_flag, webhook_flag
from .flag_servers import Scripted, sw_verify

pytestmark = pytest.mark.django_db


def test_webhook_kill_is_signed_and_its_answer_read(make_user, receiver, queued, attempt) -> None:
    w = build_world(make_user, ready=False)
    flag = webhook_flag(w.product, receiver)
    kill = flag_kill(flag=flag, release=w.release, actor=w.pm, reason="Checkout double-charges")

    assert attempt(kill) == "done"

    sent = receiver.seen[0]
    assert sent.path == "/flags/kill" and sw_verify(SECRET, sent.headers, sent.body)
    assert sent.headers["webhook-id"] == kill.message_id
    body = json.loads(sent.body)
    assert body["type"] == "flag.kill"
    assert body["data"] == {
        "product": w.product.slug,
        "flag": "new-checkout",
        "environment": "production",
        "release": "1.0.0",
        "reason": "Checkout double-charges",
        "by": w.pm.username,
    }
    assert receiver.enabled["new-checkout"] is False
    flag.refresh_from_db()
    assert flag.state == FlagState.OFF


def test_a_webhook_with_the_wrong_secret_is_refused(
    make_user, receiver, queued, attempt, monkeypatch
) -> None:
    monkeypatch.setenv("GONOGO_TEST_FLAG_SECRET", "whsec_" + "QUJD" * 8)
    w = build_world(make_user, ready=False)
    flag = webhook_flag(w.product, receiver)
    kill = flag_kill(flag=flag, release=w.release, actor=w.pm, reason="r")
    assert attempt(kill) == "failed"
    kill.refresh_from_db()
    assert kill.status == KillStatus.FAILED and kill.status_code == 401
    assert "The webhook refused the signature (401): check GONOGO_TEST_FLAG_SECRET" in kill.error
    assert receiver.enabled["new-checkout"] is True


def test_a_webhook_that_answers_still_enabled_is_not_a_kill(make_user, receiver, queued, attempt) -> None:
    """Its own 2xx answer says the flag is still on: tried again, never "switched off"."""
    receiver.stuck = True
    w = build_world(make_user, ready=False)
    flag = webhook_flag(w.product, receiver)
    kill = flag_kill(flag=flag, release=w.release, actor=w.pm, reason="Checkout double-charges")
    assert attempt(kill) == "retry"
    kill.refresh_from_db()
    assert kill.status == KillStatus.PENDING and "still reports the flag on" in kill.error
    assert not AuditEvent.objects.filter(action="flag.killed").exists()


def rolling(make_user: Any) -> Any:
    w = build_world(make_user, ready=True)
    release_decide(release=w.release, outcome="go", actor=w.pm, rationale="ok")
    release_rollout_start(release=w.release, actor=w.devops)
    return w


def test_read_back_sees_a_flag_turned_back_on_outside(make_user, unleash, queued, attempt) -> None:
    w = rolling(make_user)
    flag = unleash_flag(w.product, unleash)
    attempt(flag_kill(flag=flag, release=w.release, actor=w.devops, reason="r"))
    flag.refresh_from_db()
    assert flag.state == FlagState.OFF

    unleash.features["search-v2"]["production"] = True  # someone switched it on in Unleash
    type(flag).objects.filter(pk=flag.pk).update(state_read_at=timezone.now() - timedelta(minutes=5))
    assert flags_read_due() == 1

    flag.refresh_from_db()
    assert flag.state == FlagState.ON and flag.state_error == ""
    seen = AuditEvent.objects.filter(action="flag.state").latest("at")
    assert seen.after == {"state": "on", "error": ""}
    assert flags_read_due() == 0  # read just now: not due again yet


def test_a_failing_read_is_unknown_with_the_reason(make_user, unleash) -> None:
    w = rolling(make_user)
    flag = unleash_flag(w.product, unleash)
    unleash.script = [Scripted(status=500)]
    assert flags_read_due() == 1
    flag.refresh_from_db()
    assert flag.state == FlagState.UNKNOWN and "Unleash answered 500" in flag.state_error


def test_only_flags_of_releases_after_go_are_read(make_user, unleash) -> None:
    w = build_world(make_user, ready=False)  # a candidate
    unleash_flag(w.product, unleash)
    assert flags_due() == []
    halted = rolling(make_user)
    flag = unleash_flag(halted.product, unleash)
    release_halt_by(release=halted.release, actor=halted.devops, reason="crash rate")
    assert [f.pk for f in flags_due()] == [flag.pk]


def test_a_release_ships_the_active_flags_of_its_product_by_default(make_user, unleash) -> None:
    w = build_world(make_user, ready=False)
    flag = unleash_flag(w.product, unleash)
    unleash_flag(w.product, unleash, key="old-thing", active=False)
    assert not FlagShip.objects.filter(release=w.release).exists()  # created before the flag

    draft = release_create(product=w.product, version="1.1.0", build=11, state="draft")
    assert list(FlagShip.objects.filter(release=draft).values_list("flag_id", "ships")) == [(flag.pk, True)]

    flag_ship_set(flag=flag, release=draft, ships=False, actor=w.pm)
    draft.state = "candidate"
    draft.save()  # promoted: a flag detached by hand stays detached
    assert FlagShip.objects.get(release=draft, flag=flag).ships is False
    assert AuditEvent.objects.filter(action="flag.detach", release_id=draft.pk).exists()
