"""Group commit for results that arrive at once (issue 16): the requests of one process
that want a result recorded while another request's transaction is writing wait for it to
finish, and are then recorded together, by one of them, in one `gate_results_record` —
one transaction, one lock of the release, one insert, one audit insert and one live event
for the lot. Each request still answers only once its own result is committed, with its
own id, duplicate flag and gate status: nothing is acknowledged before it is stored.

How it runs: the first request finding no writer busy writes its batch at once (alone, so
a quiet server costs what it did). Requests arriving meanwhile queue; when the writer is
done, one of them takes everything queued and writes it, and so on. Under a burst the
batches grow by themselves, and so does what each commit carries; in between, each
result is written as it comes. A request that cannot wait for another thread (inside a
transaction of its own, as in tests, where only its own connection sees its data) writes
alone, as before.

When a batch fails (a rule one result breaks, a release deleted meanwhile), each result of
it is written again alone, so each request gets its own answer or its own refusal, never
another's.

`gate_status` for a result written in a batch is its gate's status once the batch is
recorded: it includes the results of the same gate that arrived at the same moment.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from .recording import Recorded, ResultEntry, gate_results_record


@dataclass(eq=False)
class _Slot:
    entry: ResultEntry
    done: bool = False
    recorded: Recorded | None = None
    error: BaseException | None = None
    ready: threading.Event = field(default_factory=threading.Event)

    def outcome(self) -> Recorded:
        if self.error is not None:
            raise self.error
        if self.recorded is None:
            raise RuntimeError("the result was not recorded")
        return self.recorded


class _Group:
    """One process's queue of results waiting for the writer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: list[_Slot] = []
        self.writing = False
        self.batches = 0  # batches written (for tests and the bench)
        self.grouped = 0  # results written in a batch of more than one

    def record(self, entry: ResultEntry) -> Recorded:
        slot = _Slot(entry)
        with self.lock:
            self.pending.append(slot)
            lead = not self.writing
            if lead:
                self.writing = True
        while not lead:
            slot.ready.wait()
            if slot.done:
                return slot.outcome()
            with self.lock:  # woken to write: the writer before is done
                slot.ready.clear()
                lead = not self.writing and not slot.done
                if lead:
                    self.writing = True
            if slot.done:
                return slot.outcome()
        try:
            while not slot.done:
                with self.lock:
                    batch, self.pending = self.pending, []
                self._write(batch)
        finally:
            with self.lock:
                self.writing = False
                waiting = next((s for s in self.pending if not s.done), None)
            if waiting is not None:
                waiting.ready.set()  # the next writer: it takes what has queued
        return slot.outcome()

    def _write(self, batch: list[_Slot]) -> None:
        if not batch:
            return
        try:
            if len(batch) > 1:
                try:
                    for slot, recorded in zip(
                        batch, gate_results_record(entries=[s.entry for s in batch]), strict=True
                    ):
                        slot.recorded = recorded
                    self.grouped += len(batch)
                    self.batches += 1
                    return
                except Exception:  # noqa: S110 (each result is written again alone, below)
                    pass
            for slot in batch:
                try:
                    slot.recorded = gate_results_record(entries=[slot.entry])[0]
                except Exception as error:  # its request raises it: the answer it gets alone
                    slot.error = error
                self.batches += 1
        finally:
            for slot in batch:
                if slot.recorded is None and slot.error is None:
                    slot.error = RuntimeError("the result was not recorded (the writer stopped)")
                slot.done = True
                slot.ready.set()


_group = _Group()


def gate_result_record_grouped(entry: ResultEntry) -> Recorded:
    """`gate_results_record(entries=[entry])[0]`, written with the results other requests
    of this process are recording at the same moment (see the module's text)."""
    if not settings.GONOGO_GROUP_COMMIT or transaction.get_connection().in_atomic_block:
        return gate_results_record(entries=[entry])[0]
    return _group.record(entry)
