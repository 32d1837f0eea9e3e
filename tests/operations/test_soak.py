"""Soak, inconclusive health, auto-advance and halts that say why (issue 14 items 3 and 4;
docs/rollout.md): a stage advances only once it has soaked and a sample taken since it
began is within bounds from every source; a source that did not answer never counts as
in bounds; the halt keeps the breach as data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from board.decisions import release_decide
from board.rollout import (
    release_halt_by,
    release_rollout_advance,
    release_rollout_resume,
    release_rollout_start,
    releases_auto_advance,
)
from core.errors import Conflict
from gates.models import Gate
from gates.services import gate_result_record
from operations.models import HealthSource
from operations.services import health_sample_record
from releases.models import Release, ReleaseState

from ..releases.builders import build_world, healthy, make_ready

T0 = timezone.make_aware(timezone.datetime(2026, 12, 1, 7, 30))


@pytest.fixture
def world(make_user: Any) -> Any:
    with time_machine.travel(T0, tick=False):
        w = build_world(make_user, ready=False)
        w.product.soak_minutes = 30
        w.product.save()
        make_ready(w)
        w.devops = make_user(Role.DEVOPS, product=w.product)
        release_decide(release=w.release, outcome="go", actor=w.pm)
        release_rollout_start(release=w.release, actor=w.devops)
    return w


def fresh(world: Any) -> Release:
    return Release.objects.select_related("product").get(pk=world.release.pk)


def advance(world: Any) -> Release:
    return release_rollout_advance(release=fresh(world), actor=world.devops)


def test_a_stage_advances_only_after_its_soak(world: Any) -> None:
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        healthy(world.release)
        with pytest.raises(Conflict, match=r"Stage 1 % soaks for 30 min, until 2026-12-01 08:00") as refused:
            advance(world)
        assert refused.value.code == "soak_not_done"
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        assert advance(world).rollout_percent == 5
        assert fresh(world).rollout_stage_started_at == T0 + timedelta(minutes=30)  # the next soak starts


def test_a_soaked_stage_needs_a_sample_taken_since_it_began(world: Any) -> None:
    with time_machine.travel(T0 - timedelta(minutes=1), tick=False):
        healthy(world.release)  # before the stage began: does not count
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        with pytest.raises(Conflict, match="No health sample since the stage began") as refused:
            advance(world)
        assert refused.value.code == "health_no_sample"
        healthy(world.release)
        assert advance(world).rollout_percent == 5


def test_a_source_that_did_not_answer_is_inconclusive_never_in_bounds(world: Any) -> None:
    HealthSource.objects.create(
        product=world.product, kind="prometheus", url="http://127.0.0.1:9", interval_seconds=60
    )
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        healthy(world.release)  # a pushed sample within bounds is not enough: Prometheus is silent
        with pytest.raises(Conflict, match="No health sample from Prometheus since the stage began"):
            advance(world)
        health_sample_record(
            release=world.release,
            source="prometheus",
            problems=[{"metric": "error_rate", "code": "timeout", "detail": "no answer within 5 s"}],
        )
        with pytest.raises(
            Conflict, match="Health is inconclusive: Prometheus did not answer within 5 s"
        ) as refused:
            advance(world)
        assert refused.value.code == "health_inconclusive"
        assert fresh(world).state == ReleaseState.ROLLING_OUT  # inconclusive halts nothing
        health_sample_record(release=world.release, source="prometheus", error_rate=0.002, p95_latency_ms=300)
        assert advance(world).rollout_percent == 5


def test_auto_advance_moves_a_soaked_healthy_stage_as_the_system(world: Any) -> None:
    world.product.auto_advance = True
    world.product.save()
    with time_machine.travel(T0 + timedelta(minutes=10), tick=False):
        healthy(world.release)
        assert releases_auto_advance() == 0  # not soaked yet
    with time_machine.travel(T0 + timedelta(minutes=30), tick=False):
        assert releases_auto_advance() == 1
        assert releases_auto_advance() == 0  # the new stage soaks again
    assert fresh(world).rollout_percent == 5
    event = AuditEvent.objects.get(action="release.rollout_advance", release_id=world.release.pk)
    assert (event.actor, event.actor_label, event.after) == (None, "system", {"stage_percent": 5})


def test_without_auto_advance_nothing_moves_by_itself(world: Any) -> None:
    with time_machine.travel(T0 + timedelta(minutes=40), tick=False):
        healthy(world.release)
        assert releases_auto_advance() == 0
    assert fresh(world).rollout_percent == 1


def test_a_breach_halts_with_the_breach_as_data_and_resume_needs_a_fresh_sample(world: Any) -> None:
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        sample = health_sample_record(release=world.release, source="prometheus", error_rate=0.09)
    release = fresh(world)
    assert release.state == ReleaseState.HALTED and sample.halted
    assert release.halt is not None
    assert {k: release.halt[k] for k in ("kind", "metric", "value", "bound", "source", "by")} == {
        "kind": "breach",
        "metric": "error_rate",
        "value": 0.09,
        "bound": 0.01,
        "source": "prometheus",
        "by": "prometheus",
    }
    event = AuditEvent.objects.get(action="release.halt", release_id=release.pk)
    assert event.after["halt"]["metric"] == "error_rate"
    with time_machine.travel(T0 + timedelta(minutes=6), tick=False):
        with pytest.raises(Conflict, match="No health sample since the halt"):
            release_rollout_resume(release=release, actor=world.devops)
        healthy(world.release)
        release_rollout_resume(release=release, actor=world.devops)
    release = fresh(world)
    assert (release.state, release.halt) == (ReleaseState.ROLLING_OUT, None)
    assert release.rollout_stage_started_at == T0 + timedelta(minutes=6)  # the stage soaks again


def test_crash_free_sessions_is_a_minimum(world: Any) -> None:
    world.product.health_crash_free_sessions = 0.995
    world.product.save()
    world.release = fresh(world)
    kept = health_sample_record(release=world.release, source="sentry", crash_free_sessions=0.999)
    assert kept.breaches == [] and fresh(world).state == ReleaseState.ROLLING_OUT
    broke = health_sample_record(release=world.release, source="sentry", crash_free_sessions=0.97)
    assert broke.breaches == [
        {"metric": "crash_free_sessions", "value": 0.97, "bound": 0.995, "minimum": True}
    ]
    assert fresh(world).halt["kind"] == "breach"


def test_a_smoke_failure_during_the_rollout_halts_it(make_user: Any) -> None:
    w = build_world(make_user, ready=False)
    smoke = Gate.objects.create(
        key=f"{w.product.slug}-smoke", name="Smoke", owner_role=Role.DEVOPS, phase="post_deploy"
    )
    smoke.products.add(w.product)
    make_ready(w)
    devops = make_user(Role.DEVOPS, product=w.product)
    release_decide(release=w.release, outcome="go", actor=w.pm)
    release_rollout_start(release=w.release, actor=devops)
    gate_result_record(release=w.release, gate=smoke, status="failed", run_id="s1", summary="login 500")
    release = Release.objects.get(pk=w.release.pk)
    assert release.state == ReleaseState.HALTED
    assert {k: release.halt[k] for k in ("kind", "gate", "gate_name", "summary")} == {
        "kind": "smoke",
        "gate": smoke.key,
        "gate_name": "Smoke",
        "summary": "login 500",
    }
    healthy(release)
    with pytest.raises(Conflict, match="“Smoke” after deploy has failed: it must pass again") as refused:
        release_rollout_resume(release=release, actor=devops)
    assert refused.value.code == "post_deploy_gate_failed"
    gate_result_record(release=w.release, gate=smoke, status="passed", run_id="s2")
    healthy(release)
    assert release_rollout_resume(release=release, actor=devops).state == ReleaseState.ROLLING_OUT


def test_a_person_halts_with_a_reason(world: Any) -> None:
    release_halt_by(release=world.release, actor=world.devops, reason="Crash reports from Seoul")
    halt = fresh(world).halt
    assert (halt["kind"], halt["reason"], halt["by"]) == (
        "person",
        "Crash reports from Seoul",
        world.devops.username,
    )


def test_the_board_shows_the_breach_in_words_and_the_api_its_data(client: Client, world: Any) -> None:
    with time_machine.travel(T0 + timedelta(minutes=5), tick=False):
        health_sample_record(release=world.release, source="prometheus", error_rate=0.09)
    client.force_login(world.pm)
    board = reverse(
        "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
    )
    page = client.get(board).content.decode()
    assert "error rate 9.0 % is over the bound 1.0 % — Prometheus, 07:35" in page
    assert "Halted automatically at" in page and "Halted by prometheus" not in page
    # No sample since the halt: the one it halted on stands, out of bounds, not "waiting".
    assert "Health at the halt (no sample since)" in page
    assert 'id="bound-error_rate" data-status="bad"' in page
    assert 'data-health="breach"' in page
    client.cookies.load({"django_language": "ko"})
    page = client.get(board, headers={"Accept-Language": "ko"}).content.decode()
    assert "Prometheus, 07:35" in page and "error rate" not in page
