"""The one writer of gate results, `gate_results_record`, called directly with batches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from core.errors import RuleViolation
from gates.models import Gate, GateResult
from gates.recording import ResultEntry, gate_results_record
from live import bus

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db


def test_a_batch_skips_a_repeat_of_a_recorded_run_and_a_repeat_within_itself(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    gate, other = world.gates
    at = timezone.now() - timedelta(minutes=5)
    (earlier,) = gate_results_record(
        entries=[
            ResultEntry(release=world.release, gate=gate, status="failed", run_id="ci-1", observed_at=at)
        ]
    )
    again = ResultEntry(release=world.release, gate=gate, status="failed", run_id="ci-1", observed_at=at)
    fresh = ResultEntry(release=world.release, gate=other, status="passed", run_id="ci-2", observed_at=at)
    recorded = gate_results_record(entries=[again, fresh, fresh])
    assert [r.duplicate for r in recorded] == [True, False, True]
    assert recorded[0].result.pk == earlier.result.pk
    assert recorded[2].result.pk == recorded[1].result.pk is not None
    assert GateResult.objects.filter(release=world.release).count() == 2


def test_without_a_run_id_every_observation_is_new(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    entry = ResultEntry(release=world.release, gate=world.gates[0], status="failed")
    assert [r.duplicate for r in gate_results_record(entries=[entry, entry])] == [False, False]


def test_text_is_cut_to_its_column_and_a_link_that_is_not_http_is_dropped(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    long_url = "https://ci.example.com/" + "a" * 2000
    entries = [
        ResultEntry(
            release=world.release,
            gate=world.gates[0],
            status="passed",
            url=long_url,
            summary="s" * 600,
            check_name="c" * 300,
            run_id="r" * 300,
            actor_label="l" * 200,
        ),
        ResultEntry(
            release=world.release, gate=world.gates[1], status="passed", url="ftp://ci.example.com/1"
        ),
    ]
    long, odd = (r.result for r in gate_results_record(entries=entries))
    long.refresh_from_db()
    assert long.url == long_url[:1000]
    assert (len(long.summary), len(long.check_name), len(long.run_id)) == (500, 200, 200)
    assert long.reporter_label == "l" * 150
    assert odd.url == ""


def test_a_time_ahead_of_our_clock_is_taken_as_now(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    before = timezone.now()
    (recorded,) = gate_results_record(
        entries=[
            ResultEntry(
                release=world.release,
                gate=world.gates[0],
                status="passed",
                run_id="ahead",
                observed_at=timezone.now() + timedelta(days=1),
            )
        ]
    )
    result = recorded.result
    assert before <= result.observed_at <= timezone.now()
    assert result.observed_at == result.received_at


def test_the_commit_is_the_given_one_or_ci_s_matched_to_the_release(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    release, gate = world.release, world.gates[0]
    entries = [
        ResultEntry(release=release, gate=gate, status="passed", run_id="1"),
        ResultEntry(release=release, gate=gate, status="passed", run_id="2", head_sha="A" * 12),
        ResultEntry(release=release, gate=gate, status="passed", run_id="3", head_sha="b" * 40),
        ResultEntry(release=release, gate=gate, status="passed", run_id="4", commit=" " + "C" * 40),
    ]
    commits = [r.result.commit_sha for r in gate_results_record(entries=entries)]
    assert commits == ["a" * 40, "a" * 40, "b" * 40, "c" * 40]


def test_boards_hear_once_per_release_and_each_new_result_is_audited(
    make_user: Any, django_capture_on_commit_callbacks: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    one, two = build_world(make_user, ready=False), build_world(make_user, ready=False)
    gate_results_record(
        entries=[ResultEntry(release=one.release, gate=one.gates[0], status="failed", run_id="old")]
    )
    published: list[str] = []
    monkeypatch.setattr(bus, "publish", lambda topic, panels: published.append(topic))
    entries = [
        ResultEntry(release=one.release, gate=one.gates[0], status="failed", run_id="old"),  # a repeat
        ResultEntry(release=one.release, gate=one.gates[1], status="passed", run_id="a", actor_label="ci:gh"),
        ResultEntry(release=two.release, gate=two.gates[0], status="passed", run_id="b", actor=two.lead),
        ResultEntry(release=two.release, gate=two.gates[1], status="failed", run_id="c"),
    ]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        recorded = gate_results_record(entries=entries)
    # One live event per release (the rest of the callbacks make cached panels stale).
    assert len([c for c in callbacks if c.__qualname__ == "live_notify.<locals>.send"]) == 2
    assert sorted(t for t in published if t.startswith("release:")) == [
        f"release:{one.release.pk}",
        f"release:{two.release.pk}",
    ]
    new = [r.result for r in recorded if not r.duplicate]
    events = AuditEvent.objects.filter(action="gate_result.record", object_id__in=[str(r.pk) for r in new])
    assert events.count() == 3
    by_result = {e.object_id: e for e in events}
    assert by_result[str(new[0].pk)].actor_label == "ci:gh"
    assert by_result[str(new[1].pk)].actor == two.lead and new[1].reported_by == two.lead
    assert by_result[str(new[2].pk)].after == {
        "gate": two.gates[1].key,
        "status": "failed",
        "source": "api",
        "run_id": "c",
    }


def test_a_bad_entry_refuses_the_whole_batch(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    derived = Gate.objects.create(key="critical-bugs", name="Zero", owner_role="qa", evaluation="defects")
    entries = [
        ResultEntry(release=world.release, gate=world.gates[0], status="passed"),
        ResultEntry(release=world.release, gate=derived, status="passed"),
    ]
    with pytest.raises(RuleViolation) as exc:
        gate_results_record(entries=entries)
    assert exc.value.code == "gate_not_reported_by_ci"
    assert not GateResult.objects.filter(release=world.release).exists()
    assert gate_results_record(entries=[]) == []
