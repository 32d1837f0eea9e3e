"""Group commit (gates.grouping, issue 16): results posted at the same moment by requests
of one process are written together, and each request still gets its own answer — its
own row, duplicate flag and refusal — only after its result is committed."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from gates import grouping
from gates.grouping import gate_result_record_grouped
from gates.models import GateResult
from gates.recording import ResultEntry
from integrations.tokens import token_issue

from ..releases.builders import build_world

pytestmark = pytest.mark.usefixtures("postgres_tx")


def _in_threads(work: Callable[[int], Any], n: int) -> list[Any]:
    """`work(i)` for i < n, each in a thread of its own (its own connection), all at once."""
    outcomes: list[Any] = [None] * n
    start = threading.Barrier(n)

    def run(i: int) -> None:
        start.wait()
        try:
            outcomes[i] = work(i)
        except Exception as error:
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.fixture
def slow_writer(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[int]]:
    """Each write takes 0.2 s longer, so the requests arriving meanwhile queue; the sizes
    of the batches written are noted."""
    real = grouping.gate_results_record
    sizes: list[int] = []

    def slow(*, entries: Any) -> Any:
        sizes.append(len(entries))
        time.sleep(0.2)
        return real(entries=entries)

    monkeypatch.setattr(grouping, "gate_results_record", slow)
    return {"sizes": sizes}


def test_results_arriving_together_are_written_together_each_with_its_own_answer(
    make_user: Any, slow_writer: dict[str, list[int]]
) -> None:
    world = build_world(make_user, ready=False)
    gate = world.gates[0]

    def post(i: int) -> Any:
        status = "failed" if i == 7 else "passed"
        entry = ResultEntry(release=world.release, gate=gate, status=status, run_id=f"run-{i}")
        return gate_result_record_grouped(entry)

    answers = _in_threads(post, 8)

    assert not [a for a in answers if isinstance(a, BaseException)], answers
    assert [a.result.run_id for a in answers] == [f"run-{i}" for i in range(8)]
    assert len({a.result.pk for a in answers}) == 8 and not any(a.duplicate for a in answers)
    assert GateResult.objects.filter(release=world.release, run_id__startswith="run-").count() == 8
    # The first wrote alone; the others queued behind it and went in fewer writes.
    sizes = slow_writer["sizes"]
    assert sum(sizes) == 8 and len(sizes) < 8 and max(sizes) > 1, sizes
    # Every answer is given after its row is committed: visible to another connection.
    assert all(a.gate_status in ("passed", "failed") for a in answers)


def test_the_same_run_and_status_posted_twice_at_once_is_one_row_and_one_duplicate(
    make_user: Any, slow_writer: dict[str, list[int]]
) -> None:
    world = build_world(make_user, ready=False)
    gate = world.gates[0]

    def post(i: int) -> Any:
        run = "first" if i == 0 else "twice"  # the first holds the writer; the other two queue
        return gate_result_record_grouped(
            ResultEntry(release=world.release, gate=gate, status="passed", run_id=run)
        )

    answers = _in_threads(post, 3)

    twice = answers[1:]
    assert sorted(a.duplicate for a in twice) == [False, True], answers
    assert len({a.result.pk for a in twice}) == 1
    assert GateResult.objects.filter(release=world.release, run_id="twice").count() == 1


def test_a_result_that_breaks_a_rule_is_refused_alone_and_the_rest_of_its_batch_is_written(
    make_user: Any, slow_writer: dict[str, list[int]]
) -> None:
    world = build_world(make_user, ready=False)
    gate = world.gates[0]

    def post(i: int) -> Any:
        # Not a status of the vocabulary: gate_results_record refuses it (a batch with it fails).
        status = "exploded" if i == 2 else "passed"
        return gate_result_record_grouped(
            ResultEntry(release=world.release, gate=gate, status=status, run_id=f"r{i}")
        )

    answers = _in_threads(post, 4)

    refused = [a for a in answers if isinstance(a, BaseException)]
    assert len(refused) == 1 and answers[2] is refused[0]
    assert getattr(refused[0], "code", "") == "status_invalid"
    assert sorted(GateResult.objects.filter(release=world.release).values_list("run_id", flat=True)) == [
        "r0",
        "r1",
        "r3",
    ]


def test_the_api_answers_each_of_many_concurrent_posts_with_its_own_result(
    make_user: Any, slow_writer: dict[str, list[int]]
) -> None:
    """Through the whole request (POST /api/v1/results), eight CI jobs at once."""
    world = build_world(make_user, ready=False)
    _token, raw = token_issue(name="ci", product=world.product, scopes=["results"])

    def post(i: int) -> Any:
        body = {
            "product": world.product.slug,
            "version": world.release.version,
            "gate": world.gates[i % 2].key,
            "status": "failed" if i == 5 else "passed",
            "run_id": f"job-{i}",
        }
        reply = Client().post(
            "/api/v1/results",
            json.dumps(body),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {raw}",
        )
        return reply.status_code, reply.json()

    answers = _in_threads(post, 8)

    assert all(status == 202 for status, _body in answers), answers
    ids = {body["id"] for _status, body in answers}
    assert len(ids) == 8
    rows = dict(GateResult.objects.filter(pk__in=ids).values_list("pk", "run_id"))
    assert {rows[body["id"]] for _status, body in answers} == {f"job-{i}" for i in range(8)}
    assert [body["id"] for _status, body in answers] == [
        next(pk for pk, run in rows.items() if run == f"job-{i}") for i in range(8)
    ]
    assert len(slow_writer["sizes"]) < 8
    assert {body["gate_status"] for _status, body in answers} <= {"passed", "failed"}


def test_inside_a_transaction_a_result_is_written_on_its_own_connection(make_user: Any) -> None:
    """A caller inside a transaction (the worker's replay, a test) writes its result itself,
    in that transaction: no other thread could see what it has not committed."""
    from django.db import transaction

    world = build_world(make_user, ready=False)

    class Stop(Exception):
        pass

    with pytest.raises(Stop), transaction.atomic():
        recorded = gate_result_record_grouped(
            ResultEntry(release=world.release, gate=world.gates[0], status="passed", run_id="inside")
        )
        assert GateResult.objects.filter(pk=recorded.result.pk).exists()
        raise Stop
    assert not GateResult.objects.filter(run_id="inside").exists()  # rolled back with it


def test_a_result_of_another_release_does_not_wait_behind_a_release_being_written(
    make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = build_world(make_user, ready=False), build_world(make_user, ready=False)
    real = grouping.gate_results_record
    started = threading.Event()

    def slow_for_first(*, entries: Any) -> Any:
        if entries[0].release.pk == first.release.pk:
            started.set()
            time.sleep(1.0)
        return real(entries=entries)

    monkeypatch.setattr(grouping, "gate_results_record", slow_for_first)

    def post(i: int) -> Any:
        world = first if i == 0 else second
        if i == 1:
            started.wait(5)  # the first release's writer is busy now
        begun = time.monotonic()
        gate_result_record_grouped(
            ResultEntry(release=world.release, gate=world.gates[0], status="passed", run_id=f"x{i}")
        )
        return time.monotonic() - begun

    waited = _in_threads(post, 2)
    assert waited[1] < 0.5, waited  # not behind the first release's second-long write


def test_a_database_that_does_not_answer_fails_the_whole_batch_at_once(
    make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not retried one result at a time: each retry would wait out the connection again."""
    import psycopg
    from django.db import OperationalError

    world = build_world(make_user, ready=False)
    calls: list[int] = []
    hold = threading.Event()

    def down(*, entries: Any) -> Any:
        calls.append(len(entries))
        if len(calls) == 1:
            hold.wait(0.5)  # the first write holds the writer while the others queue
        # As Django raises it when PostgreSQL does not answer (psycopg's error as the cause).
        raise OperationalError("connection refused") from psycopg.OperationalError("connection refused")

    monkeypatch.setattr(grouping, "gate_results_record", down)

    def post(i: int) -> Any:
        return gate_result_record_grouped(
            ResultEntry(release=world.release, gate=world.gates[0], status="passed", run_id=f"d{i}")
        )

    answers = _in_threads(post, 4)
    assert all(isinstance(a, OperationalError) for a in answers), answers
    assert calls[0] == 1 and calls[1:] == [3], calls  # the batch of three: one attempt


def test_a_batch_that_fails_after_its_commit_is_not_written_again(
    make_user: Any, slow_writer: dict[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something run on commit that raises (the results are stored): each request hears of
    it, and nothing is written a second time (results without a run id have no duplicate
    check)."""
    from django.db import transaction

    world = build_world(make_user, ready=False)
    real = grouping.gate_results_record

    def then_fails(*, entries: Any) -> Any:
        out = real(entries=entries)
        if len(entries) > 1:
            transaction.on_commit(lambda: (_ for _ in ()).throw(RuntimeError("after commit")))
        return out

    monkeypatch.setattr(grouping, "gate_results_record", then_fails)

    def post(i: int) -> Any:
        return gate_result_record_grouped(
            ResultEntry(release=world.release, gate=world.gates[0], status="passed")
        )

    answers = _in_threads(post, 4)
    assert GateResult.objects.filter(release=world.release).count() == 4, answers
