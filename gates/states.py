"""The `GateState` rows: each gate's fold (gates.folding) per release and commit, written
with every new result by the one writer (gates.recording), read by the selectors.

Writing is constant in the history when results arrive in order (the row is updated
from what it holds); a result older than the last one folded — a late redelivery, a poll
that finds an earlier job — refolds that gate's results for that commit, once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q

from core.rows import fetch_one

from .folding import RESULT_ORDER, GateFold, Seen, fold, order_key
from .models import GateResult, GateState

StateKey = tuple[int, int, str]  # release, gate, commit


def _fold_of(state: GateState) -> GateFold:
    if state.current_id is None:  # made for its lock; no result folded yet
        return GateFold()
    assert state.last_observed_at is not None and state.last_attempt is not None
    assert state.last_result_id is not None
    return GateFold(
        jobs={name: Seen.from_json(seen) for name, seen in state.jobs.items()},
        shown=Seen.from_json(state.jobs[_shown_job(state)]) if state.jobs else None,
        since=state.since_id,
        worsened=state.worsened_id,
        worsened_received_at=state.worsened_received_at,
        last=(state.last_observed_at, state.last_attempt, state.last_result_id),
        max_id=state.folded_max_id or state.last_result_id,
    )


def _shown_job(state: GateState) -> str:
    return next(name for name, seen in state.jobs.items() if int(seen[0]) == state.current_id)


def _save(key: StateKey, folded: GateFold, state: GateState | None) -> None:
    assert folded.shown is not None and folded.since is not None and folded.last is not None
    last_at, last_attempt, last_id = folded.last
    values = {
        "current_id": folded.shown.pk,
        "since_id": folded.since,
        "worsened_id": folded.worsened,
        "worsened_received_at": folded.worsened_received_at,
        "jobs": {name: seen.as_json() for name, seen in folded.jobs.items()},
        "last_observed_at": last_at,
        "last_attempt": last_attempt,
        "last_result_id": last_id,
        "folded_max_id": folded.max_id,
    }
    if state is None:
        release_id, gate_id, commit = key
        GateState.objects.update_or_create(
            release_id=release_id, gate_id=gate_id, commit_sha=commit, defaults=values
        )
    else:
        GateState.objects.filter(pk=state.pk).update(**values)


def _history(key: StateKey) -> Iterable[GateResult]:
    release_id, gate_id, commit = key
    return (
        GateResult.objects.filter(release_id=release_id, gate_id=gate_id, commit_sha=commit)
        .only("id", "gate_id", "status", "check_name", "run_id", "run_attempt", "observed_at", "received_at")
        .order_by(*RESULT_ORDER)
        .iterator(chunk_size=2000)
    )


def states_lock(keys: Iterable[StateKey]) -> dict[StateKey, GateState]:
    """Lock the state rows of `keys`: the writers of one gate queue here. A gate's first
    writers find no row: it is made first (empty), all the missing ones in key order in
    one statement that leaves a row another writer is making to that writer, so two
    batches never wait on each other in a circle. Then every row, in id order. By key."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    GateState.objects.bulk_create(
        [GateState(release_id=r, gate_id=g, commit_sha=c) for r, g, c in wanted], ignore_conflicts=True
    )
    mine = Q()
    for release_id, gate_id, commit in wanted:
        mine |= Q(release_id=release_id, gate_id=gate_id, commit_sha=commit)
    locked = GateState.objects.select_for_update().filter(mine).order_by("pk")
    return {(s.release_id, s.gate_id, s.commit_sha): s for s in locked}


def _missed(key: StateKey, state: GateState | None, new: Sequence[GateResult]) -> bool:
    """Whether a result of this gate landed around the writer since its state was folded
    (an older process during an upgrade, an import): then the state is refolded. One
    indexed look past the last folded id."""
    release_id, gate_id, commit = key
    after = (state.folded_max_id or state.last_result_id or 0) if state is not None else 0
    # As SQL (core.rows): asked with every batch of results.
    ids = [row.pk for row in new]
    besides = f" AND id NOT IN ({', '.join(['%s'] * len(ids))})" if ids else ""
    return (
        fetch_one(
            f"SELECT 1 FROM {GateResult._meta.db_table} WHERE release_id = %s AND gate_id = %s"  # noqa: S608 (names from the models)
            f" AND commit_sha = %s AND id > %s{besides} LIMIT 1",
            [release_id, gate_id, commit, after, *ids],
        )
        is not None
    )


class Folds:
    """What a batch left: each gate's fold, or its state as it was when nothing new came."""

    def __init__(self, folds: dict[StateKey, GateFold], states: dict[StateKey, GateState]) -> None:
        self.folds, self.states = folds, states

    def status(self, key: StateKey) -> str | None:
        """The status the gate shows for that release and commit now (None: no result)."""
        if key in self.folds:
            shown = self.folds[key].shown
            return shown.status if shown else None
        state = self.states.get(key)
        shown = _fold_of(state).shown if state is not None else None
        return shown.status if shown else None


def states_apply(rows: Sequence[GateResult], states: dict[StateKey, GateState]) -> Folds:
    """Fold newly saved results into their gates' states, `states` being the rows
    `states_lock` locked (a key missing there has no state yet: it is created). The
    caller holds the lock of their releases too (gates.recording)."""
    per_key: dict[StateKey, list[GateResult]] = {}
    for row in rows:
        per_key.setdefault((row.release_id, row.gate_id, row.commit_sha), []).append(row)
    folds: dict[StateKey, GateFold] = {}
    for key, new in per_key.items():
        new.sort(key=order_key)
        state = states.get(key)
        folded = _fold_of(state) if state is not None else GateFold()
        if folded.in_order(new[0]) and not _missed(key, state, new):
            for row in new:
                folded.add(row)
        else:
            folded = fold(_history(key))  # a late arrival: the new rows are saved, refold all
        _save(key, folded, state)
        folds[key] = folded
    return Folds(folds, states)


def states_rebuild(release_ids: Iterable[int] | None = None) -> int:
    """Refold every gate's state from its results (for `release_ids`, or all): after a
    bulk import that bypassed the writer (the demo's history). Returns the rows written."""
    results, stale = GateResult.objects.all(), GateState.objects.all()
    if release_ids is not None:
        ids = list(release_ids)
        results, stale = results.filter(release_id__in=ids), stale.filter(release_id__in=ids)
    keys = sorted(set(results.values_list("release_id", "gate_id", "commit_sha").distinct()))
    stale.delete()
    for key in keys:
        _save(key, fold(_history(key)), None)
    return len(keys)


def states_read(
    wanted: Iterable[tuple[int, str]], gate_id: int | None = None
) -> dict[int, dict[int, GateState]]:
    """Per release id, per gate id, its state for the given commit: `wanted` pairs each
    release id with the commit to read. One query."""
    pairs = list(wanted)
    out: dict[int, dict[int, GateState]] = {pk: {} for pk, _commit in pairs}
    if not pairs:
        return out
    mine = Q()
    for pk, commit in pairs:
        mine |= Q(release_id=pk, commit_sha=commit)
    states = GateState.objects.filter(mine, current__isnull=False).select_related("current", "worsened")
    if gate_id is not None:
        states = states.filter(gate_id=gate_id)
    for state in states:
        out[state.release_id][state.gate_id] = state
    return out
