"""A gate's history folded into its current state, one result at a time.

The fold is the rule of the board (PRODUCT §3): per CI job (`check_name`) the newest
observation, an older run attempt never overriding a newer one; across jobs the most
worrying status; from which result that status has held (`since`); and which result last
turned the gate failing (`worsened`, for stale sign-offs). Results are folded in
`RESULT_ORDER`.

`gates.recording` (the one writer) keeps the fold of every (release, gate, commit) in a
`GateState` row as each result lands, so reads never scan the history: a result that
arrives in order is folded into the row (constant work); one that arrives older than the
last folded (a late delivery) refolds that one gate's history for that commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

# When several CI jobs feed one gate, the gate shows the most worrying of their newest
# results: a skipped job never lets the gate pass.
STATUS_WEIGHT = {"failed": 0, "error": 1, "running": 2, "pending": 3, "skipped": 4, "passed": 5}
TERMINAL = frozenset({"passed", "failed", "error", "skipped"})
WAIVABLE_STATUSES = frozenset({"failed", "error", "skipped"})  # what a waiver may carry
FAILING = WAIVABLE_STATUSES  # bad news: a gate turning one of these makes sign-offs stale
RESULT_ORDER = ("observed_at", "run_attempt", "id")  # the order results are folded in

OrderKey = tuple[datetime, int, int]


@dataclass(frozen=True)
class Seen:
    """What the fold keeps of one result: enough to compare the next one with it."""

    pk: int
    status: str
    run_id: str
    run_attempt: int
    observed_at: datetime

    @classmethod
    def of(cls, result: Any) -> Seen:
        return cls(result.pk, result.status, result.run_id, result.run_attempt, result.observed_at)

    def as_json(self) -> list[Any]:
        return [self.pk, self.status, self.run_id, self.run_attempt, self.observed_at.isoformat()]

    @classmethod
    def from_json(cls, data: list[Any]) -> Seen:
        pk, status, run_id, attempt, at = data
        observed_at = parse_datetime(at)
        assert observed_at is not None
        return cls(int(pk), status, run_id, int(attempt), observed_at)


def supersedes(new: Seen, old: Seen) -> bool:
    """Whether `new` (later or equal in time order) replaces `old` from the same CI job:
    the newest observation wins — a run that failed, passed and failed again ends failed,
    a finished job put back in the queue is pending again — except that an older attempt
    of a run never does, nor a start observed at the same moment its attempt finished."""
    if new.run_id and new.run_id == old.run_id:
        if new.run_attempt < old.run_attempt:
            return False
        if (
            new.run_attempt == old.run_attempt
            and old.status in TERMINAL
            and new.status not in TERMINAL
            and new.observed_at <= old.observed_at
        ):
            return False
    return True


@dataclass
class GateFold:
    """One gate's fold for one commit. `shown` is the result the gate shows (its status is
    the gate's), `since` the result from which that status has held, `worsened` the result
    that last turned it failing and when that result was received."""

    jobs: dict[str, Seen] = field(default_factory=dict)
    shown: Seen | None = None
    since: int | None = None
    worsened: int | None = None
    worsened_received_at: datetime | None = None
    last: OrderKey | None = None
    max_id: int = 0  # the highest result id folded in

    def in_order(self, result: Any) -> bool:
        """Whether `result` comes after everything folded so far (it may be folded in)."""
        return self.last is None or order_key(result) > self.last

    def add(self, result: Any) -> None:
        """Fold in `result` (a GateResult, saved), which must come after the last folded."""
        new = Seen.of(result)
        self.last = order_key(result)
        self.max_id = max(self.max_id, result.pk)
        previous_job = self.jobs.get(result.check_name)
        if previous_job is not None and not supersedes(new, previous_job):
            return
        self.jobs[result.check_name] = new
        shown = min(self.jobs.values(), key=lambda seen: (STATUS_WEIGHT.get(seen.status, 0), -seen.pk))
        previous = self.shown
        if previous is None or previous.status != shown.status:
            self.since = result.pk
        turned_failing = shown.status in FAILING and (previous is None or previous.status not in FAILING)
        if turned_failing and (
            self.worsened_received_at is None or result.received_at >= self.worsened_received_at
        ):
            self.worsened, self.worsened_received_at = result.pk, result.received_at
        self.shown = shown


def order_key(result: Any) -> OrderKey:
    return (result.observed_at, result.run_attempt, result.pk)


def fold(results: Iterable[Any]) -> GateFold:
    """The fold of one gate's results, given in `RESULT_ORDER`."""
    folded = GateFold()
    for result in results:
        folded.add(result)
    return folded


def fold_gates(results: Iterable[Any]) -> dict[int, GateFold]:
    """Per gate, the fold of its results (of one release and commit, in `RESULT_ORDER`)."""
    folds: dict[int, GateFold] = {}
    for result in results:
        folds.setdefault(result.gate_id, GateFold()).add(result)
    return folds
