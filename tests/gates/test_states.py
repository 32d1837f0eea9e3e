"""Each gate's kept state (gates.states, issue 16): what the writer keeps as results land
is, after every result, exactly the fold of the whole history — results in order, late,
redelivered, from several jobs and attempts — and reading it costs the same queries
whatever the length of the history."""

from __future__ import annotations

import json
import random
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from gates.folding import RESULT_ORDER, fold_gates
from gates.models import GateResult, GateState
from gates.recording import ResultEntry, gate_results_record
from gates.selectors import gate_history
from gates.states import states_rebuild

from ..releases.builders import build_world

STATUSES = ["passed", "failed", "error", "running", "pending", "skipped"]


def _from_history(release: Any) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    """Current, since and worsened per gate, folded afresh from every result in order."""
    rows = GateResult.objects.filter(release=release, commit_sha=release.commit_sha).order_by(*RESULT_ORDER)
    folds = fold_gates(rows)
    return (
        {g: f.shown.pk for g, f in folds.items() if f.shown},
        {g: f.since for g, f in folds.items() if f.since},
        {g: f.worsened for g, f in folds.items() if f.worsened},
    )


def _kept(release: Any) -> tuple[dict[int, int], dict[int, int], dict[int, int]]:
    current, since, worsened = gate_history(release)
    return (
        {g: r.pk for g, r in current.items()},
        dict(since),
        {g: r.pk for g, r in worsened.items()},
    )


@pytest.mark.parametrize("seed", range(6))
def test_kept_state_is_the_fold_of_the_whole_history_after_every_result(make_user: Any, seed: int) -> None:
    rng = random.Random(seed)
    world = build_world(make_user, ready=False)
    release = world.release
    start = timezone.now() - timedelta(hours=3)
    for step in range(60):
        batch = []
        for _ in range(rng.choice([1, 1, 1, 3])):
            # Mostly in order; one in five arrives late (observed before what is folded).
            minutes = step * 2 if rng.random() > 0.2 else rng.randrange(0, max(1, step * 2))
            batch.append(
                ResultEntry(
                    release=release,
                    gate=rng.choice(world.gates),
                    status=rng.choice(STATUSES),
                    check_name=rng.choice(["", "unit", "lint"]),
                    run_id=rng.choice(["", "r1", "r2", "r3"]),
                    run_attempt=rng.choice([1, 1, 2]),
                    observed_at=start + timedelta(minutes=minutes, seconds=rng.randrange(60)),
                )
            )
        gate_results_record(entries=batch)
        assert _kept(release) == _from_history(release), f"seed {seed}, step {step}"
    assert GateState.objects.filter(release=release).count() == len(world.gates)


def test_a_rebuild_refolds_to_the_same_states(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    now = timezone.now()
    for i, status in enumerate(["failed", "passed", "failed", "passed"]):
        gate_results_record(
            entries=[
                ResultEntry(
                    release=world.release,
                    gate=world.gates[0],
                    status=status,
                    run_id=f"run-{i}",
                    observed_at=now - timedelta(minutes=10 - i),
                )
            ]
        )
    kept = _kept(world.release)
    GateState.objects.all().delete()
    assert _kept(world.release) == ({}, {}, {})
    assert states_rebuild([world.release.pk]) == 1  # one gate has results
    assert _kept(world.release) == kept


def test_results_for_another_commit_count_once_the_release_moves_to_it(make_user: Any) -> None:
    world = build_world(make_user, ready=False)
    other = "b" * 40
    gate_results_record(
        entries=[ResultEntry(release=world.release, gate=world.gates[0], status="failed", commit=other)]
    )
    shown = gate_history(world.release)[0].get(world.gates[0].pk)
    assert shown is None or shown.commit_sha == world.release.commit_sha
    world.release.commit_sha = other
    current, _since, worsened = gate_history(world.release)
    assert current[world.gates[0].pk].status == "failed"
    assert worsened[world.gates[0].pk] == current[world.gates[0].pk]


def _history_of(world: Any, size: int) -> None:
    """`size` results more on the release's gates, written around the writer, then folded."""
    start = timezone.now() - timedelta(days=3)
    GateResult.objects.bulk_create(
        GateResult(
            release=world.release,
            gate=world.gates[i % len(world.gates)],
            commit_sha=world.release.commit_sha,
            status="failed" if i % 7 == 3 else "passed",
            source="api",
            run_id=f"h-{i}",
            observed_at=start + timedelta(seconds=i),
            received_at=start + timedelta(seconds=i),
        )
        for i in range(size)
    )
    states_rebuild([world.release.pk])


def _queries(send: Any) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = send()
    assert response.status_code in (200, 202), response.content[:300]
    return len(ctx.captured_queries)


def test_board_and_result_post_cost_the_same_queries_at_3_and_at_a_long_history(
    client: Client, make_user: Any
) -> None:
    from integrations.tokens import token_issue

    counts = []
    for size in (3, 1500):
        world = build_world(make_user, ready=False)
        _history_of(world, size)
        _token, raw = token_issue(name="ci", product=world.product, scopes=["results"])
        client.force_login(world.pm)
        url = reverse(
            "board:release_board", kwargs={"product": world.product.slug, "version": world.release.version}
        )
        client.get(url)  # the first read of a session caches what every request reads
        board = _queries(lambda url=url: client.get(url))
        body = {
            "product": world.product.slug,
            "version": world.release.version,
            "gate": world.gates[0].key,
            "status": "failed",
            "run_id": f"new-{size}",
        }
        post = _queries(
            lambda body=body, raw=raw: client.post(
                "/api/v1/results",
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
        )
        counts.append((board, post))
        assert GateResult.objects.filter(release=world.release).count() == size + 1
    assert counts[0] == counts[1], counts


def test_a_result_written_around_the_writer_is_folded_in_by_the_next(make_user: Any) -> None:
    """An older process still running during an upgrade (or an import) writes a result
    without keeping the state: the next result through the writer refolds that gate."""
    world = build_world(make_user, ready=False)
    gate = world.gates[0]
    gate_results_record(entries=[ResultEntry(release=world.release, gate=gate, status="passed", run_id="a")])
    now = timezone.now()
    GateResult.objects.create(
        release=world.release,
        gate=gate,
        commit_sha=world.release.commit_sha,
        status="failed",
        source="api",
        check_name="nightly",
        run_id="around",
        observed_at=now,
        received_at=now,
    )
    gate_results_record(entries=[ResultEntry(release=world.release, gate=gate, status="passed", run_id="b")])
    assert _kept(world.release) == _from_history(world.release)
    assert gate_history(world.release)[0][gate.pk].status == "failed"  # the nightly job's


def test_one_late_result_refolds_its_gate_once_not_again_at_the_next(
    make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gates import states

    world = build_world(make_user, ready=False)
    gate, now = world.gates[0], timezone.now()
    refolds: list[Any] = []
    real = states._history
    monkeypatch.setattr(states, "_history", lambda key: refolds.append(key) or real(key))

    def record(run: str, minutes_ago: int) -> None:
        gate_results_record(
            entries=[
                ResultEntry(
                    release=world.release,
                    gate=gate,
                    status="passed",
                    run_id=run,
                    observed_at=now - timedelta(minutes=minutes_ago),
                )
            ]
        )

    record("a", 10)
    record("b", 5)
    assert refolds == []
    record("late", 8)  # older than the last folded
    assert len(refolds) == 1
    record("c", 1)  # in order again: folded in, no second refold
    assert len(refolds) == 1
    assert _kept(world.release) == _from_history(world.release)
