"""Group commit for results that arrive at once (issue 16): the requests of one process
that want a result of a release recorded while another request's transaction is writing
that release's results wait for it to finish, and are then recorded together, by one of
them, in one `gate_results_record` —
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

Each release has its own queue: a result never waits behind another release's writer
(one held up by a decision holding its release's lock).

When a batch fails before it is committed (a rule one result breaks, a release deleted
meanwhile), each result of it is written again alone, so each request gets its own answer
or its own refusal, never another's. When the database cannot be reached, or the batch
failed after its commit (something run on commit), every request of the batch gets that
error at once: retried one by one, each would wait out the connection timeout again, or
be written twice.

`gate_status` for a result written in a batch is its gate's status once the batch is
recorded: it includes the results of the same gate that arrived at the same moment.
"""

from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from core.outage import is_outage

from .recording import Recorded, ResultEntry, gate_results_record

logger = logging.getLogger(__name__)


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
    """One process's queue of one release's results waiting for the writer."""

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
                committed: list[bool] = []
                try:
                    with transaction.atomic():
                        transaction.on_commit(lambda: committed.append(True))  # runs first
                        recorded = gate_results_record(entries=[s.entry for s in batch])
                    for slot, one in zip(batch, recorded, strict=True):
                        slot.recorded = one
                    self.grouped += len(batch)
                    self.batches += 1
                    return
                except Exception as error:
                    if committed or is_outage(error):
                        logger.warning(
                            "results written together failed (%s): every request of it is told", error
                        )
                        for slot in batch:
                            slot.error = copy.copy(error)
                        return
                    logger.info("results written together refused (%s): each is written alone", error)
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


_groups: dict[int, _Group] = {}
_groups_lock = threading.Lock()


def _group_of(release_id: int) -> _Group:
    with _groups_lock:
        group = _groups.get(release_id)
        if group is None:
            group = _groups[release_id] = _Group()
        return group


def gate_result_record_grouped(entry: ResultEntry) -> Recorded:
    """`gate_results_record(entries=[entry])[0]`, written with the results of the same
    release other requests of this process are recording at the same moment (see the
    module's text)."""
    if not settings.GONOGO_GROUP_COMMIT or transaction.get_connection().in_atomic_block:
        return gate_results_record(entries=[entry])[0]
    return _group_of(entry.release.pk).record(entry)
