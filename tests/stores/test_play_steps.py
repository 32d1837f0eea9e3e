"""The board's rollout steps on Google Play's track: each step the same on Play (edit →
track update → commit) with a token from the service account's key, retried when Google
does not answer or answers 5xx/429, refused for good on 4xx with Google's words, in order
per release, every answer on record."""

from __future__ import annotations

from typing import Any

import pytest

from audit.models import AuditEvent
from board.rollout import (
    release_halt_by,
    release_roll_back,
    release_rollout_advance,
    release_rollout_resume,
    release_rollout_start,
)
from releases.events import release_event
from stores.models import PlayCall, PlayCallState

from ..releases.builders import healthy, roll_out_fully
from .conftest import CLIENT_EMAIL, KEY_ID
from .play_servers import SCOPE, Reply, google_error

pytestmark = pytest.mark.django_db


def last_call(world: Any) -> PlayCall:
    return PlayCall.objects.filter(release=world.release).order_by("-pk").first()


def track(world: Any) -> dict[str, Any] | None:
    return world.google.play.release(world.code)


@pytest.fixture
def events() -> Any:
    seen: list[tuple[str, dict[str, Any]]] = []

    def listen(sender: str, **kwargs: Any) -> None:
        seen.append((sender, kwargs.get("data") or {}))

    release_event.connect(listen, dispatch_uid="test.play.events")
    yield seen
    release_event.disconnect(dispatch_uid="test.play.events")


def test_every_rollout_step_is_the_same_on_plays_track(
    world: Any, run: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        release = release_rollout_start(release=world.release, actor=world.devops)
    call = last_call(world)
    assert (call.event, call.status, call.user_fraction, call.version_code) == (
        "rollout.started",
        "inProgress",
        0.01,
        world.code,
    )
    assert world.queued.steps == [(call.pk, 0.0)]  # queued after commit
    assert run(call) == "done"
    assert track(world) == {"versionCodes": [world.code], "status": "inProgress", "userFraction": 0.01}
    # The token came from the JWT bearer grant, verified by the fake with the public key.
    (claims,) = world.google.token.claims
    assert claims["iss"] == CLIENT_EMAIL and claims["scope"] == SCOPE
    assert claims["aud"] == world.google.token.token_uri and claims["exp"] - claims["iat"] <= 3600
    methods = [(s.method, s.path.rsplit("/", 2)[-2:]) for s in world.google.play.seen]
    assert [m for m, _p in methods] == ["POST", "PUT", "POST"]  # edit, track update, commit
    assert world.google.play.seen[-1].path.endswith(":commit")

    steps = [
        (lambda r: release_rollout_advance(release=r, actor=world.devops), "inProgress", 0.05),
        (lambda r: release_halt_by(release=r, actor=world.devops, reason="crash spike"), "halted", 0.05),
    ]
    for step, status, fraction in steps:
        healthy(release)
        release = step(release)
        assert run(last_call(world)) == "done"
        assert track(world) == {"versionCodes": [world.code], "status": status, "userFraction": fraction}
    healthy(release)
    release = release_rollout_resume(release=release, actor=world.devops)
    assert run(last_call(world)) == "done"
    assert track(world) == {"versionCodes": [world.code], "status": "inProgress", "userFraction": 0.05}
    release = roll_out_fully(release, world.devops)
    for call in PlayCall.objects.filter(release=release, state=PlayCallState.PENDING).order_by("pk"):
        run(call)
    assert track(world) == {"versionCodes": [world.code], "status": "completed"}  # no userFraction
    assert len(world.google.token.claims) == 1  # one token, cached for every step
    answers = AuditEvent.objects.filter(action="play.step_answer", release_id=release.pk)
    assert answers.count() == PlayCall.objects.filter(release=release, state=PlayCallState.DONE).count()
    assert PlayCall.objects.filter(
        release=release, state=PlayCallState.SUPERSEDED
    ).exists()  # 20 % replaced by 100 %


def test_a_rollback_halts_plays_rollout_where_it_stood(world: Any, run: Any) -> None:
    """Play has no rollback: the board's rollback halts the track at its fraction, so no
    one new gets the build (and the board compares Play with that)."""
    release = release_rollout_start(release=world.release, actor=world.devops)
    run(last_call(world))
    release = release_roll_back(release=release, actor=world.devops, minutes=9)
    call = last_call(world)
    assert (call.event, call.status, call.user_fraction) == ("rollback.recorded", "halted", 0.01)
    assert run(call) == "done"
    assert track(world) == {"versionCodes": [world.code], "status": "halted", "userFraction": 0.01}


@pytest.mark.parametrize(
    "reply",
    [
        Reply(503, google_error(503, "The service is currently unavailable.", "UNAVAILABLE")),
        Reply(500, google_error(500, "Internal error encountered.", "INTERNAL")),
        Reply(429, google_error(429, "Quota exceeded for quota metric 'Queries'.", "RESOURCE_EXHAUSTED")),
        Reply(200, {}, delay=3.0),  # no answer within the 2 s timeout
    ],
    ids=["503", "500", "429", "timeout"],
)
def test_a_step_is_retried_when_google_cannot_answer(world: Any, run: Any, reply: Reply) -> None:
    world.google.play.script("PUT", "/tracks/production", reply)
    release_rollout_start(release=world.release, actor=world.devops)
    call = last_call(world)
    assert run(call) == "retry"
    call.refresh_from_db()
    assert call.state == PlayCallState.PENDING and call.attempts == 1 and call.next_attempt_at
    assert world.queued.steps[-1][0] == call.pk and world.queued.steps[-1][1] > 0  # queued with a countdown
    first = call.answers[0]
    assert first["ok"] is False and first["status"] == (None if reply.delay else reply.status)
    if not reply.delay:
        assert reply.body["error"]["message"] in call.last_error  # Google's words kept
    assert track(world) is None
    assert run(call, due=True) == "done"
    call.refresh_from_db()
    assert [a["ok"] for a in call.answers] == [False, True] and call.attempts == 2
    assert track(world)["userFraction"] == 0.01


@pytest.mark.parametrize(
    ("status", "message", "google_status"),
    [
        (403, "The caller does not have permission", "PERMISSION_DENIED"),
        (400, "Track update is not allowed for this release.", "INVALID_ARGUMENT"),
        (404, "Package not found: com.acme.shop.", "NOT_FOUND"),
    ],
)
def test_a_refusal_is_final_said_in_googles_words_and_alerted(
    world: Any, run: Any, events: Any, status: int, message: str, google_status: str
) -> None:
    world.google.play.script("PUT", "/tracks/", Reply(status, google_error(status, message, google_status)))
    release_rollout_start(release=world.release, actor=world.devops)
    call = last_call(world)
    assert run(call) == "failed"
    call.refresh_from_db()
    assert call.state == PlayCallState.FAILED and call.attempts == 1
    assert message in call.last_error
    failed = [d for e, d in events if e == "store.failed"]
    assert failed == [
        {
            "store": "google_play",
            "store_name": "Google Play",
            "step": "start at 1 %",
            "error": call.last_error,
            "attempts": 1,
        }
    ]
    assert not world.queued.steps[1:]  # nothing queued again
    # The edit opened for it was dropped, not left open.
    assert not world.google.play.edits


def test_the_last_attempt_failing_is_alerted(world: Any, run: Any, events: Any) -> None:
    busy = Reply(503, google_error(503, "The service is currently unavailable.", "UNAVAILABLE"))
    world.google.play.script("POST", ":commit", busy, busy, busy)
    release_rollout_start(release=world.release, actor=world.devops)
    call = last_call(world)
    assert [run(call, due=True) for _ in range(3)] == [
        "retry",
        "retry",
        "failed",
    ]  # GONOGO_PLAY_MAX_ATTEMPTS = 3
    assert [e for e, _d in events if e == "store.failed"] == ["store.failed"]
    assert track(world) is None  # never committed


def test_an_unuploaded_build_is_refused_with_googles_message(world: Any, run: Any) -> None:
    world.google.play.uploaded.discard(world.code)
    release_rollout_start(release=world.release, actor=world.devops)
    call = last_call(world)
    assert run(call) == "failed"
    call.refresh_from_db()
    assert f"Version code {world.code} has not been uploaded" in call.last_error


def test_a_bad_key_is_refused_before_google_is_asked(
    world: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GONOGO_TEST_PLAY_KEY", '{"type": "service_account"}')
    release_rollout_start(release=world.release, actor=world.devops)
    assert run(last_call(world)) == "failed"
    assert "not a service account JSON key" in last_call(world).last_error
    assert world.google.play.seen == [] and world.google.token.seen == []
    assert "BEGIN PRIVATE KEY" not in last_call(world).last_error


def test_a_key_google_does_not_know_is_refused(
    world: Any, run: Any, rsa_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .conftest import key_json

    monkeypatch.setenv(
        "GONOGO_TEST_PLAY_KEY", key_json(rsa_key, world.google.token.token_uri, key_id="0" * 40)
    )
    release_rollout_start(release=world.release, actor=world.devops)
    assert run(last_call(world)) == "failed"
    assert "invalid_grant: Invalid JWT Signature." in last_call(world).last_error
    assert KEY_ID not in last_call(world).last_error


def test_a_revoked_token_is_renewed_once(world: Any, run: Any) -> None:
    release = release_rollout_start(release=world.release, actor=world.devops)
    assert run(last_call(world)) == "done"
    world.google.token.tokens.clear()  # Google forgot the cached token
    healthy(release)
    release_rollout_advance(release=release, actor=world.devops)
    assert run(last_call(world)) == "done"
    assert len(world.google.token.claims) == 2 and track(world)["userFraction"] == 0.05


def test_a_halt_replaces_an_advance_still_waiting(world: Any, run: Any) -> None:
    release = release_rollout_start(release=world.release, actor=world.devops)
    start = last_call(world)
    healthy(release)
    release = release_rollout_advance(release=release, actor=world.devops)
    advance = last_call(world)
    release_halt_by(release=release, actor=world.devops, reason="crashes")
    halt = last_call(world)
    start.refresh_from_db()
    advance.refresh_from_db()
    assert start.state == advance.state == PlayCallState.SUPERSEDED
    assert run(advance) == "superseded"  # its message still comes: nothing is sent
    assert run(halt) == "done"
    assert track(world) == {"versionCodes": [world.code], "status": "halted", "userFraction": 0.05}
    assert len(world.google.play.commits) == 1


def test_a_halt_waits_for_the_advance_being_sent_and_goes_after_it(world: Any, run: Any) -> None:
    release = release_rollout_start(release=world.release, actor=world.devops)
    start = last_call(world)
    # The start is being sent (claimed by a worker) when the halt comes.
    PlayCall.objects.filter(pk=start.pk).update(state=PlayCallState.RUNNING, attempts=1)
    from datetime import timedelta

    from django.utils import timezone

    PlayCall.objects.filter(pk=start.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=2))
    release_halt_by(release=release, actor=world.devops, reason="crashes")
    halt = last_call(world)
    assert run(halt) == "waiting"
    assert world.queued.steps[-1] == (halt.pk, 2.0)
    # The start's answer: a 503 would be retried, but a newer step exists: it is replaced.
    from stores.play_client import PlayError
    from stores.play_services import _record

    assert _record(start.pk, PlayError("Google Play answered 503", retry=True, status=503)) == "superseded"
    assert run(halt, due=True) == "done"
    assert track(world) == {"versionCodes": [world.code], "status": "halted", "userFraction": 0.01}


def test_a_product_without_play_is_left_alone(world: Any) -> None:
    world.source.active = False
    world.source.save()
    release_rollout_start(release=world.release, actor=world.devops)
    assert not PlayCall.objects.exists() and world.queued.steps == []


def test_each_step_is_audited(world: Any, run: Any) -> None:
    release_rollout_start(release=world.release, actor=world.devops)
    run(last_call(world))
    actions = list(
        AuditEvent.objects.filter(release_id=world.release.pk, action__startswith="play.")
        .order_by("pk")
        .values_list("action", "actor")
    )
    assert actions == [("play.step_request", world.devops.pk), ("play.step_answer", None)]
    answer = AuditEvent.objects.get(action="play.step_answer")
    assert (
        answer.after["result"] == "done"
        and answer.after["status"] == 200
        and answer.actor_label == "google-play"
    )
