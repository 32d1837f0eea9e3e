"""The rollout's steps on the board: DevOps only, Go must stand to start, a halt says why,
a rollback keeps its minutes beside the product's target."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from audit.models import AuditEvent
from board.decisions import release_decide
from board.rollout import (
    release_halt_by,
    release_roll_back,
    release_rollout_advance,
    release_rollout_resume,
    release_rollout_start,
)
from core.errors import Conflict, NotAllowed, RuleViolation
from gates.models import Gate
from gates.services import gate_result_record
from operations.models import Rollback
from operations.rollout import rollout_next, rollout_stages
from operations.services import health_sample_record
from releases.models import Release, ReleaseState

from ..releases.builders import build_world, healthy, make_ready, roll_out_fully


@pytest.fixture
def world(make_user: Any) -> Any:
    w = build_world(make_user, ready=True)
    w.devops = make_user(Role.DEVOPS, product=w.product)
    release_decide(release=w.release, outcome="go", actor=w.pm)
    w.url = reverse("board:release_rollout", kwargs={"product": w.product.slug, "version": "1.0.0"})
    return w


def state(world: Any) -> str:
    return Release.objects.get(pk=world.release.pk).state


def test_devops_runs_the_rollout_to_the_end(client: Client, world: Any) -> None:
    client.force_login(world.devops)
    board = reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    assert "Start the rollout" in client.get(board).content.decode()
    assert client.post(world.url, {"step": "start"}).status_code == 302
    assert state(world) == ReleaseState.ROLLING_OUT
    assert Release.objects.get(pk=world.release.pk).rollout_percent == 1
    page = client.get(board).content.decode()
    assert 'aria-current="step"' in page and "Advance to 5 %" in page
    htmx = {"HX-Request": "true", "HX-Target": "operations"}
    for percent in (5, 20):  # the product's stages: 1, 5, 20, 100
        healthy(world.release)
        response = client.post(world.url, {"step": "advance"}, headers=htmx)
        assert f"The rollout is at {percent} %." in response.content.decode()
        assert (
            f'<li class="stage-now" aria-current="step"><span aria-hidden="true">▶</span> {percent} %</li>'
            in (response.content.decode())
        )
        assert Release.objects.get(pk=world.release.pk).rollout_percent == percent
    assert "Advance to 100 % (fully rolled out)" in response.content.decode()
    healthy(world.release)
    response = client.post(world.url, {"step": "advance"}, headers=htmx)
    assert response.status_code == 200 and "The release is fully rolled out." in response.content.decode()
    assert state(world) == ReleaseState.RELEASED
    actions = list(
        AuditEvent.objects.filter(release_id=world.release.pk, action__startswith="release.rollout")
        .order_by("id")
        .values_list("action", "after__stage_percent")
    )
    assert actions == [
        ("release.rollout_start", 1),
        ("release.rollout_advance", 5),
        ("release.rollout_advance", 20),
        ("release.rollout_finish", 100),
    ]


def test_the_rollout_waits_for_a_standing_go(client: Client, world: Any) -> None:
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
    client.force_login(world.devops)
    response = client.post(
        world.url, {"step": "start"}, headers={"HX-Request": "true", "HX-Target": "operations"}
    )
    assert response.status_code == 409 and "no longer stands" in response.content.decode()
    assert state(world) == ReleaseState.GO
    with pytest.raises(Conflict):
        release_rollout_start(release=world.release, actor=world.devops)


def test_only_devops_moves_the_rollout(client: Client, world: Any) -> None:
    client.force_login(world.pm)
    assert client.post(world.url, {"step": "start"}).status_code == 403
    with pytest.raises(NotAllowed):
        release_rollout_start(release=world.release, actor=world.pm)
    assert state(world) == ReleaseState.GO


def test_halt_needs_a_reason_then_resume_or_roll_back(client: Client, world: Any) -> None:
    client.force_login(world.devops)
    client.post(world.url, {"step": "start"})
    client.post(world.url, {"step": "halt", "reason": "crash rate 2 %"})
    assert state(world) == ReleaseState.HALTED
    halt = AuditEvent.objects.get(release_id=world.release.pk, action="release.halt")
    assert halt.after["reason"] == "crash rate 2 %"
    assert halt.after["halt"]["kind"] == "person" and halt.after["halt"]["by"] == world.devops.username
    healthy(world.release)
    client.post(world.url, {"step": "resume"})
    assert state(world) == ReleaseState.ROLLING_OUT
    for bad in ("", "-3", "ten", "1.5"):
        response = client.post(world.url, {"step": "roll_back", "minutes": bad})
        assert response.status_code == 400 and "whole number from 0 to 10080" in response.content.decode()
    assert state(world) == ReleaseState.ROLLING_OUT
    client.post(world.url, {"step": "roll_back", "minutes": "12", "notes": "flag off first"})
    assert state(world) == ReleaseState.ROLLED_BACK
    rollback = Rollback.objects.get(release=world.release)
    assert (rollback.minutes, rollback.notes, rollback.recorded_by) == (12, "flag off first", world.devops)
    page = client.get(
        reverse("board:release_board", kwargs={"product": world.product.slug, "version": "1.0.0"})
    ).content.decode()
    assert "rolled back in 12 min" in page and "within target" in page


def test_an_unknown_step_is_refused_clearly(client: Client, world: Any) -> None:
    client.force_login(world.devops)
    response = client.post(world.url, {"step": "launch"})
    assert (
        response.status_code == 400
        and "Choose start, advance, halt, resume or roll back." in response.content.decode()
    )
    with pytest.raises(RuleViolation):
        release_roll_back(release=world.release, actor=world.devops, minutes="x")


def test_no_step_skips_its_state(client: Client, world: Any) -> None:
    """Resume is not a way to start a Go release, nor start a way to resume a halt."""
    with pytest.raises(Conflict, match="Only a halted rollout can be resumed"):
        release_rollout_resume(release=world.release, actor=world.devops)
    with pytest.raises(Conflict, match="Only a release rolling out can advance to its next stage"):
        release_rollout_advance(release=world.release, actor=world.devops)
    release_rollout_start(release=world.release, actor=world.devops)
    release_halt_by(release=world.release, actor=world.devops, reason="crash")
    with pytest.raises(Conflict, match="Only a release called Go can start rolling out"):
        release_rollout_start(release=world.release, actor=world.devops)
    assert state(world) == ReleaseState.HALTED


def test_a_resume_needs_the_go_standing_and_health_back_in_bounds(world: Any) -> None:
    release_rollout_start(release=world.release, actor=world.devops)
    health_sample_record(release=world.release, error_rate=0.2, p95_latency_ms=None, rate_429=None)
    assert state(world) == ReleaseState.HALTED  # monitoring halted it
    with pytest.raises(Conflict, match=r"No health sample since the halt"):
        release_rollout_resume(release=world.release, actor=world.devops)
    health_sample_record(release=world.release, error_rate=0.3)
    with pytest.raises(Conflict, match=r"out of bounds: error rate 30\.0 % is over the bound 1\.0 %"):
        release_rollout_resume(release=world.release, actor=world.devops)
    health_sample_record(release=world.release, error_rate=0.001, p95_latency_ms=None, rate_429=None)
    gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
    with pytest.raises(Conflict, match="no longer stands"):
        release_rollout_resume(release=world.release, actor=world.devops)
    assert state(world) == ReleaseState.HALTED


def rolling_out_with_a_smoke_gate(make_user: Any) -> tuple[Any, Gate, Any]:
    """A release rolling out at its first stage, its product with a smoke gate (after
    deploy) that has no result yet; and a DevOps user of that product."""
    w = build_world(make_user, ready=False)
    smoke = Gate.objects.create(
        key=f"{w.product.slug}-smoke", name="Smoke", owner_role=Role.DEVOPS, phase="post_deploy"
    )
    smoke.products.add(w.product)
    make_ready(w)
    devops = make_user(Role.DEVOPS, product=w.product)
    release_decide(release=w.release, outcome="go", actor=w.pm)
    release_rollout_start(release=w.release, actor=devops)
    return w, smoke, devops


def test_smoke_results_during_the_rollout_leave_the_go_standing(make_user: Any) -> None:
    w, smoke, devops = rolling_out_with_a_smoke_gate(make_user)
    release_halt_by(release=w.release, actor=devops, reason="checking a crash report")
    gate_result_record(release=w.release, gate=smoke, status="running", run_id="smoke-1")
    gate_result_record(release=w.release, gate=smoke, status="passed", run_id="smoke-1")
    healthy(w.release)
    release_rollout_resume(release=w.release, actor=devops)
    roll_out_fully(w.release, devops)
    assert Release.objects.get(pk=w.release.pk).state == ReleaseState.RELEASED


def test_past_the_first_stage_only_with_the_smoke_gates_passed(make_user: Any) -> None:
    w, smoke, devops = rolling_out_with_a_smoke_gate(make_user)
    with pytest.raises(Conflict, match=r"“Smoke” has not passed yet: the rollout advances once it has\."):
        release_rollout_advance(release=w.release, actor=devops)
    assert Release.objects.get(pk=w.release.pk).rollout_percent == 1
    gate_result_record(release=w.release, gate=smoke, status="passed", run_id="smoke-1")
    health_sample_record(release=w.release, error_rate=None, p95_latency_ms=2000, rate_429=None)
    assert Release.objects.get(pk=w.release.pk).state == ReleaseState.HALTED  # monitoring
    health_sample_record(release=w.release, error_rate=None, p95_latency_ms=300, rate_429=None)
    release_rollout_resume(release=w.release, actor=devops)
    roll_out_fully(w.release, devops)
    assert Release.objects.get(pk=w.release.pk).state == ReleaseState.RELEASED


def test_a_halt_without_a_reason_says_so(client: Client, world: Any) -> None:
    client.force_login(world.devops)
    client.post(world.url, {"step": "start"})
    response = client.post(world.url, {"step": "halt", "reason": " "})
    assert response.status_code == 400 and "Say why the rollout is halted." in response.content.decode()
    assert state(world) == ReleaseState.ROLLING_OUT


@pytest.mark.parametrize("minutes", ["99999999999", "10081", "+5", "٣", " "])
def test_rollback_minutes_out_of_range_are_refused(client: Client, world: Any, minutes: str) -> None:
    client.force_login(world.devops)
    client.post(world.url, {"step": "start"})
    response = client.post(world.url, {"step": "roll_back", "minutes": minutes})
    assert response.status_code == 400 and "whole number from 0 to 10080" in response.content.decode()
    assert not Rollback.objects.exists()


def test_a_second_click_does_not_skip_a_stage(client: Client, world: Any) -> None:
    """Two clicks on "Advance to 5 %" (a double submit, a colleague, a stale tab): one
    advance; the other is told where the rollout is."""
    client.force_login(world.devops)
    client.post(world.url, {"step": "start"})
    healthy(world.release)
    client.post(world.url, {"step": "advance", "to": "5"})
    response = client.post(world.url, {"step": "advance", "to": "5"})
    assert response.status_code == 409 and "The rollout is at 5 % already" in response.content.decode()
    assert Release.objects.get(pk=world.release.pk).rollout_percent == 5


def test_resume_keeps_the_stage(world: Any) -> None:
    release_rollout_start(release=world.release, actor=world.devops)
    for _stage in range(2):
        healthy(world.release)
        release_rollout_advance(release=world.release, actor=world.devops)
    release_halt_by(release=world.release, actor=world.devops, reason="latency")
    healthy(world.release)
    release_rollout_resume(release=world.release, actor=world.devops)
    release = Release.objects.get(pk=world.release.pk)
    assert (release.state, release.rollout_percent) == (ReleaseState.ROLLING_OUT, 20)


@pytest.mark.parametrize(
    ("configured", "stages"),
    [
        ([1, 5, 20, 100], [1, 5, 20, 100]),
        ([20, 5, 5, 1], [1, 5, 20, 100]),
        ([50], [50, 100]),
        ([100], [100]),
        ([], [100]),
        (["abc", None, 2.5, True, 0, 101, [1], 10], [10, 100]),
        ("1,5,20,100", [100]),
    ],
)
def test_stages_from_any_configuration(world: Any, configured: Any, stages: list[int]) -> None:
    world.product.rollout_stages = configured
    world.product.save()
    release = Release.objects.select_related("product").get(pk=world.release.pk)
    assert rollout_stages(release) == stages
    assert rollout_next(release) == stages[0]
