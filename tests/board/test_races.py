"""Races on PostgreSQL with real concurrent connections: the release row lock decides."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

from board.decisions import release_decide
from board.selectors import release_board
from core.errors import Conflict
from gates.services import gate_result_record
from releases.models import Decision

from ..releases.builders import build_world


def in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    """Run each job in its own thread (its own database connection); return results or
    the exception each raised."""
    results: list[Any] = [None] * len(jobs)

    def run(i: int, job: Callable[[], Any]) -> None:
        try:
            results[i] = job()
        except Exception as exc:
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_two_pms_calling_go_at_once_one_wins(postgres_tx: None, make_user: Any) -> None:
    world = build_world(make_user)
    second_pm = make_user("pm", product=world.product)
    fingerprint = release_board(world.release).fingerprint
    barrier = threading.Barrier(2)

    def decide(actor: Any) -> Callable[[], Any]:
        def job() -> Any:
            barrier.wait()
            return release_decide(
                release=world.release,
                outcome="go",
                actor=actor,
                seen_fingerprint=fingerprint,
                seen_decision=0,
            )

        return job

    results = in_threads(decide(world.pm), decide(second_pm))
    winners = [r for r in results if isinstance(r, Decision)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert losers[0].code == "decided_meanwhile"
    assert winners[0].decided_by.get_username() in losers[0].message
    assert Decision.objects.count() == 1


def test_a_gate_failing_while_go_is_clicked_never_yields_go_on_stale_evidence(
    postgres_tx: None, make_user: Any
) -> None:
    world = build_world(make_user)
    fingerprint = release_board(world.release).fingerprint
    locked = threading.Event()

    def fail_gate() -> Any:
        with transaction.atomic():
            gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="late")
            locked.set()
            time.sleep(0.5)  # the Go arrives while this result is not yet committed

    def call_go() -> Any:
        locked.wait(10)
        return release_decide(
            release=world.release, outcome="go", actor=world.pm, seen_fingerprint=fingerprint
        )

    _failed, go = in_threads(fail_gate, call_go)
    assert isinstance(go, Conflict), go
    assert go.code in {"evidence_changed", "not_ready"}
    assert not Decision.objects.exists()


def test_go_first_then_a_failure_marks_the_decision_stale(postgres_tx: None, make_user: Any) -> None:
    world = build_world(make_user)
    release_decide(release=world.release, outcome="go", actor=world.pm)
    assert release_board(world.refresh()).go_stands
    in_threads(
        lambda: gate_result_record(release=world.release, gate=world.gates[0], status="failed", run_id="x")
    )
    board = release_board(world.release)
    assert board.decision_stale and not board.go_stands


def test_writers_of_one_gate_at_once_lose_nothing_double_nothing_and_keep_its_state(
    postgres_tx: None, make_user: Any
) -> None:
    """Results share the release's lock and queue on their gate's state row: four CI
    writers at once, from the gate's very first result (its state row created by one of
    them), each result recorded once, the same observation sent by all four recorded once,
    and the kept state the fold of everything recorded."""
    from gates.folding import RESULT_ORDER, fold_gates
    from gates.models import GateResult
    from gates.selectors import gate_history

    world = build_world(make_user, ready=False)
    gate = world.gates[0]
    barrier = threading.Barrier(4)

    def writer(n: int) -> Callable[[], Any]:
        def job() -> Any:
            barrier.wait()
            statuses = []
            for i in range(12):
                recorded = gate_result_record(
                    release=world.release, gate=gate, status=("passed", "failed")[i % 2], run_id=f"w{n}-{i}"
                )
                statuses.append(recorded.gate_status)
            shared = gate_result_record(release=world.release, gate=gate, status="failed", run_id="shared")
            return statuses, shared.duplicate

        return job

    results = in_threads(*(writer(n) for n in range(4)))
    assert not [r for r in results if isinstance(r, Exception)], results
    mine = GateResult.objects.filter(release=world.release, gate=gate)
    assert mine.filter(run_id__startswith="w").count() == 48
    assert mine.filter(run_id="shared").count() == 1
    assert sorted(duplicate for _statuses, duplicate in results) == [False, True, True, True]
    assert all(status in ("passed", "failed") for statuses, _d in results for status in statuses)
    folded = fold_gates(mine.filter(commit_sha=world.release.commit_sha).order_by(*RESULT_ORDER))[gate.pk]
    current, since, worsened = gate_history(world.release)
    assert (current[gate.pk].pk, since[gate.pk]) == (folded.shown.pk, folded.since)
    assert worsened[gate.pk].pk == folded.worsened


def test_batches_making_the_same_gates_first_states_in_opposite_orders_never_deadlock(
    postgres_tx: None, make_user: Any
) -> None:
    """A poll lists the gates [a, b] while a webhook lists [b, a], both the first results
    of a new commit: the states are made in one order, so neither waits on the other."""
    from gates.recording import ResultEntry, gate_results_record

    world = build_world(make_user, ready=False)
    a, b = world.gates
    for round_ in range(6):
        commit = f"{round_:x}" * 40
        barrier = threading.Barrier(2)

        def batch(
            gates: tuple[Any, Any], name: str, commit: str = commit, barrier: Any = barrier
        ) -> Callable[[], Any]:
            def job() -> Any:
                barrier.wait()
                return gate_results_record(
                    entries=[
                        ResultEntry(
                            release=world.release,
                            gate=g,
                            status="passed",
                            commit=commit,
                            run_id=f"{name}-{g.key}",
                        )
                        for g in gates
                    ]
                )

            return job

        results = in_threads(batch((a, b), f"poll{round_}"), batch((b, a), f"hook{round_}"))
        assert not [r for r in results if isinstance(r, Exception)], results
