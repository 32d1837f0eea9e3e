"""The one writer of gate results: every CI result (results API, webhook, poll, demo)
is recorded by `gate_results_record`, with the same rules. Atomic, audited."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record_many
from core.errors import RuleViolation
from core.rows import fetch_one
from core.validation import is_ci_link
from live.services import live_notify
from releases.events import event_emit
from releases.lifecycle import release_halt
from releases.models import Release, ReleaseState, same_commit

from .models import Evaluation, Gate, GateResult, Phase, ResultSource, ResultStatus
from .states import states_apply, states_lock

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RunKey = tuple[int, int, str, str, int]  # release, gate, commit, run id, attempt


@dataclass(frozen=True)
class ResultEntry:
    """One observation of a gate to record.

    The commit: `commit` is the exact one to record against; else `head_sha`, the commit
    CI says it ran on, is matched against the release's (see `commit_for`); with neither,
    the release's current commit. `observed_at` None means "now", and the observation is
    untimed (see `observation_known`)."""

    release: Release
    gate: Gate
    status: str
    source: str = ResultSource.API
    commit: str = ""
    head_sha: str = ""
    url: str = ""
    summary: str = ""
    check_name: str = ""
    run_id: str = ""
    run_attempt: int = 1
    observed_at: datetime | None = None
    actor: User | None = None
    actor_label: str = ""


@dataclass(frozen=True)
class Recorded:
    result: GateResult
    duplicate: bool
    # The gate's status for the release's current commit once this batch is recorded
    # (from its kept state; None when the result was for another commit).
    gate_status: str | None = None


def result_check(*, gate: Gate, status: str) -> None:
    """A result needs a status of the vocabulary and a gate that CI reports."""
    if status not in ResultStatus.values:
        raise RuleViolation(
            "status_invalid",
            _("Status must be one of: %(choices)s.") % {"choices": ", ".join(ResultStatus.values)},
            field="status",
        )
    if gate.evaluation != Evaluation.CI:
        raise RuleViolation(
            "gate_not_reported_by_ci",
            _("“%(gate)s” is decided by the app's own records (defects or checklist), not by CI.")
            % {"gate": gate.key},
            field="gate",
        )


def commit_for(sha: str, release_commit: str) -> str:
    """The commit a CI observation of `sha` is recorded against: the release's own when
    the observation is about it; a release without a commit takes the result as its own;
    otherwise `sha` (kept as evidence for that commit; it counts only if the release
    moves to it)."""
    sha = sha.lower()
    if not sha or not release_commit or same_commit(sha, release_commit):
        return release_commit
    return sha


def observation_known(
    history: list[tuple[str, datetime]], *, status: str, observed_at: datetime, timed: bool = True
) -> int | None:
    """Whether an observation of one CI run (same commit, run id and attempt) adds nothing,
    given that run's recorded observations as (status, observed_at) in time order: the
    index of the row it repeats, or None when it must be recorded.

    It repeats a row when that exact observation (status and time) is there already — a
    redelivery, however late — or when the run's newest observation has the same status
    and is not older than it. A same-status observation that is newer is recorded: another
    one may still arrive out of order between the two (fail 08:00, fail 08:10, then pass
    08:05 must end failed). With no time from CI (`timed=False`: the time is the receipt),
    the same status as the newest is a repeat, as the API promises for a run id and status
    sent again. Anything else is news: a run that failed, passed and failed again ends
    with its newest observation, whatever was seen before."""
    for index, (seen_status, seen_at) in enumerate(history):
        if seen_status == status and seen_at == observed_at:
            return index
    if history and history[-1][0] == status and (not timed or observed_at <= history[-1][1]):
        return len(history) - 1
    return None


@transaction.atomic
def gate_results_record(*, entries: Sequence[ResultEntry]) -> list[Recorded]:
    """Record observations of gates, one `Recorded` per entry in order. Never edits an
    older result: a gate's status is the newest observation for the release's current
    commit (per CI job `check_name` when several feed one gate). The same observation of
    a run again (a redelivery, or one earlier in the batch), or the status the run already
    has, is a duplicate and changes nothing (`observation_known`); without a run id every
    observation is new. A time ahead of our clock is taken as now; text is cut to its
    column and a link that is not http(s) is dropped.

    The releases are locked in id order (so batches never deadlock, and a decision never
    reads evidence half-changed); each new result gets its `gate_result.record` audit
    event, and boards hear once per release."""
    if not entries:
        return []
    for entry in entries:
        result_check(gate=entry.gate, status=entry.status)
    release_ids = sorted({entry.release.pk for entry in entries})
    # Writers of results share the releases' lock (each gate's state row serialises the
    # writers of that gate: gates.states); a decision, a new commit or a halt takes it
    # alone, so none reads evidence half-changed. A post-deploy gate may halt the rollout
    # (an update of the release): then this writer takes it alone too.
    alone = any(entry.gate.phase == Phase.POST_DEPLOY for entry in entries)
    locked = _releases_lock(release_ids, alone=alone)
    commits = {pk: commit for pk, (commit, _state) in locked.items()}
    if len(commits) != len(release_ids):
        raise Release.DoesNotExist("a release of these results no longer exists")
    try:
        with transaction.atomic():
            return _write(entries, commits, locked)
    except IntegrityError:
        # A concurrent writer of the same observation won the race: it is known now.
        with transaction.atomic():
            return _write(entries, commits, locked)


def _releases_lock(release_ids: list[int], *, alone: bool) -> dict[int, tuple[str, str]]:
    """Lock the releases in id order (so batches never deadlock): FOR SHARE, or FOR UPDATE
    when `alone` (or off PostgreSQL, where the ORM has no shared row lock). Their commits
    and states (which no one else can change while the lock is held)."""
    if alone or connection.vendor != "postgresql":
        rows = Release.objects.select_for_update().filter(pk__in=release_ids).order_by("pk")
        return {pk: (commit, state) for pk, commit, state in rows.values_list("pk", "commit_sha", "state")}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, commit_sha, state FROM releases_release WHERE id = ANY(%s) ORDER BY id FOR SHARE",
            [release_ids],
        )
        return {pk: (commit, state) for pk, commit, state in cursor.fetchall()}


def failures_announce(
    failed: list[tuple[ResultEntry, GateResult]], commits: dict[int, str], states: dict[int, str]
) -> None:
    """New failed results of blocking gates on the release's commit: a smoke gate after
    deploy halts a rollout (in this transaction, the gate as the reason); a gate of a
    release still to be decided is announced as `gate.failed` when it was not failing.
    `states`: each release's state as locked by the writer."""
    if not failed:
        return
    states = dict(states)
    for entry, row in failed:
        gate, commit = entry.gate, commits.get(row.release_id, "")
        if not gate.blocking or (commit and row.commit_sha and not same_commit(row.commit_sha, commit)):
            continue
        state = states.get(row.release_id)
        facts = {"gate": gate.key, "gate_name": gate.name, "summary": row.summary, "url": row.url}
        if state == ReleaseState.ROLLING_OUT and gate.phase == Phase.POST_DEPLOY:
            halted = release_halt(
                release=entry.release,
                actor_label=entry.actor_label or row.source,
                reason=f"smoke gate failed after deploy: {gate.name}",
                facts={"kind": "smoke", **facts},
            )
            states[row.release_id] = halted.state
            event_emit("rollout.halted", release=halted, data={"halt": halted.halt, "automatic": True})
        elif state in (ReleaseState.DRAFT, ReleaseState.CANDIDATE) and not _was_failing(row):
            event_emit("gate.failed", release=entry.release, data=facts)


def _was_failing(row: GateResult) -> bool:
    # As SQL (core.rows): asked for every failed result.
    previous = fetch_one(
        f"SELECT status FROM {GateResult._meta.db_table} WHERE release_id = %s AND gate_id = %s"  # noqa: S608 (names from the models)
        " AND commit_sha = %s AND id <> %s ORDER BY observed_at DESC, id DESC LIMIT 1",
        [row.release_id, row.gate_id, row.commit_sha, row.pk],
    )
    return previous is not None and previous[0] == ResultStatus.FAILED


def _run(result: GateResult) -> RunKey:
    return (result.release_id, result.gate_id, result.commit_sha, result.run_id, result.run_attempt)


def _commit(entry: ResultEntry, release_commit: str) -> str:
    return entry.commit.strip().lower() if entry.commit else commit_for(entry.head_sha, release_commit)


def _row(entry: ResultEntry, release_commit: str, now: datetime) -> GateResult:
    commit = _commit(entry, release_commit)
    url = entry.url[:1000]
    actor = entry.actor
    return GateResult(
        release=entry.release,
        gate=entry.gate,
        commit_sha=commit,
        status=entry.status,
        source=entry.source,
        url=url if is_ci_link(url) else "",
        summary=entry.summary[:500],
        check_name=entry.check_name[:200],
        run_id=entry.run_id[:200],
        run_attempt=max(1, min(int(entry.run_attempt or 1), 2**31 - 1)),
        # A clock ahead of ours must not pin a status: never later than receipt.
        observed_at=min(entry.observed_at, now) if entry.observed_at else now,
        received_at=now,
        reported_by=actor if actor is not None and actor.is_authenticated else None,
        reporter_label=entry.actor_label[:150],
    )


def _write(
    entries: Sequence[ResultEntry], commits: dict[int, str], locked: dict[int, tuple[str, str]]
) -> list[Recorded]:
    # First each gate's state row (the writers of one gate queue here), then the time:
    # results of one gate are recorded, and folded, in the order they got the lock.
    states = states_lock({(e.release.pk, e.gate.pk, _commit(e, commits[e.release.pk])) for e in entries})
    now = timezone.now()
    rows = [_row(entry, commits[entry.release.pk], now) for entry in entries]
    # Per run: its observations in time order as (status, observed_at, recorded pk, or
    # this batch's new row), to tell news from a repeat; a recorded row is read only when
    # it is repeated.
    history: dict[RunKey, list[tuple[str, datetime, int | None, GateResult | None]]] = {}
    run_ids = {row.run_id for row in rows if row.run_id}
    if run_ids:
        recorded = GateResult.objects.filter(release_id__in=list(commits), run_id__in=run_ids)
        for *run, status, observed_at, pk in recorded.order_by("observed_at", "id").values_list(
            "release_id", "gate_id", "commit_sha", "run_id", "run_attempt", "status", "observed_at", "pk"
        ):
            history.setdefault(tuple(run), []).append((status, observed_at, pk, None))  # type: ignore[arg-type]
    out: list[Recorded | int] = []  # an int: the pk of a recorded repeat, read below
    new: list[tuple[ResultEntry, GateResult]] = []
    for entry, row in zip(entries, rows, strict=True):
        if row.run_id:
            seen = history.setdefault(_run(row), [])
            known = observation_known(
                [(status, at) for status, at, _pk, _row in seen],
                status=row.status,
                observed_at=row.observed_at,
                timed=entry.observed_at is not None,
            )
            if known is not None:
                _status, _at, known_pk, known_row = seen[known]
                out.append(known_pk if known_row is None else Recorded(known_row, True))  # type: ignore[arg-type]
                continue
            bisect.insort(
                seen, (row.status, row.observed_at, None, row), key=lambda observation: observation[1]
            )
        new.append((entry, row))
        out.append(Recorded(row, False))
    repeats = GateResult.objects.in_bulk([pk for pk in out if isinstance(pk, int)])
    GateResult.objects.bulk_create([row for _entry, row in new])
    folds = states_apply([row for _entry, row in new], states)  # each gate's state, kept as it lands
    audit_record_many(
        [
            {
                "actor": entry.actor,
                "actor_label": entry.actor_label,
                "action": "gate_result.record",
                "obj": row,
                "after": {
                    "gate": entry.gate.key,
                    "status": row.status,
                    "source": row.source,
                    "run_id": row.run_id,
                },
                "release_id": row.release_id,
            }
            for entry, row in new
        ]
    )
    failures_announce(
        [(entry, row) for entry, row in new if row.status == ResultStatus.FAILED],
        commits,
        {pk: state for pk, (_commit, state) in locked.items()},
    )
    for release_id in sorted({row.release_id for _entry, row in new}):
        live_notify(release_id=release_id, change="gate_result")
    done = [Recorded(repeats[item], True) if isinstance(item, int) else item for item in out]
    return [
        replace(
            r, gate_status=folds.status((r.result.release_id, r.result.gate_id, commits[r.result.release_id]))
        )
        for r in done
    ]
