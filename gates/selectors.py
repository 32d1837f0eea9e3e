"""Reads for gates: which gates apply to a product, and each gate's current result for a
release's current commit, from its history of results."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import F, Q, QuerySet

from releases.models import Product, Release

from .models import Gate, GateResult


def gates_for_product(product: Product) -> QuerySet[Gate]:
    """Gates that apply to `product`: those naming it, and those naming no product."""
    return (
        Gate.objects.filter(Q(products__isnull=True) | Q(products=product))
        .distinct()
        .order_by("position", "key")
    )


def gates_for_products(product_ids: Iterable[int]) -> dict[int, list[Gate]]:
    """`gates_for_product` for many products in one query, by product id."""
    wanted = set(product_ids)
    gates: dict[int, list[Gate]] = {pk: [] for pk in wanted}
    links = (
        Gate.objects.filter(Q(products__isnull=True) | Q(products__in=wanted))
        .annotate(for_product=F("products"))
        .order_by("position", "key")
    )
    for gate in links:
        for pk in wanted if gate.for_product is None else [gate.for_product]:
            gates[pk].append(gate)
    return gates


# When several CI jobs feed one gate, the gate shows the most worrying of their newest
# results: a skipped job never lets the gate pass.
STATUS_WEIGHT = {"failed": 0, "error": 1, "running": 2, "pending": 3, "skipped": 4, "passed": 5}
TERMINAL = frozenset({"passed", "failed", "error", "skipped"})
WAIVABLE_STATUSES = frozenset({"failed", "error", "skipped"})  # what a waiver may carry
FAILING = WAIVABLE_STATUSES  # bad news: a gate turning one of these makes sign-offs stale
RESULT_ORDER = ("observed_at", "run_attempt", "id")  # the order results are folded in


def _supersedes(new: GateResult, old: GateResult) -> bool:
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


def current_results(
    release: Release, gate_id: int | None = None
) -> tuple[dict[int, GateResult], dict[int, int]]:
    """Per gate: its current result for the release's current commit (per CI job the
    newest observation, an older run or attempt never overriding a newer one; across jobs
    the most worrying), and the id of the result from which the gate's status has held."""
    current, since, _worsened = gate_history(release, gate_id)
    return current, since


def gate_history(
    release: Release, gate_id: int | None = None
) -> tuple[dict[int, GateResult], dict[int, int], dict[int, GateResult]]:
    """`current_results`, and per gate the result that last turned it failing (failed,
    error or skipped, from any other status or none): when the newest bad news came. A
    sign-off given before it is stale (board.staleness). Read from the same rows."""
    results = GateResult.objects.filter(release=release, commit_sha=release.commit_sha)
    if gate_id is not None:
        results = results.filter(gate_id=gate_id)
    return _fold(results.order_by(*RESULT_ORDER))


def current_results_for(
    releases: Sequence[Release],
) -> dict[int, tuple[dict[int, GateResult], dict[int, int], dict[int, GateResult]]]:
    """`gate_history` for many releases in one query, by release id."""
    if not releases:
        return {}
    mine = reduce(or_, (Q(release_id=r.pk, commit_sha=r.commit_sha) for r in releases))
    per_release: dict[int, list[GateResult]] = {r.pk: [] for r in releases}
    for result in GateResult.objects.filter(mine).order_by(*RESULT_ORDER):
        per_release[result.release_id].append(result)
    return {pk: _fold(results) for pk, results in per_release.items()}


def _fold(
    results: Iterable[GateResult],
) -> tuple[dict[int, GateResult], dict[int, int], dict[int, GateResult]]:
    """The current result per gate, where its status has held since, and the result that
    last turned it failing (newest by `received_at`), from results in `RESULT_ORDER`."""
    per_job: dict[int, dict[str, GateResult]] = {}
    current: dict[int, GateResult] = {}
    since: dict[int, int] = {}
    worsened: dict[int, GateResult] = {}
    for result in results:
        jobs = per_job.setdefault(result.gate_id, {})
        previous_job = jobs.get(result.check_name)
        if previous_job is not None and not _supersedes(result, previous_job):
            continue
        jobs[result.check_name] = result
        shown = min(jobs.values(), key=lambda r: (STATUS_WEIGHT.get(r.status, 0), -r.pk))
        previous = current.get(result.gate_id)
        if previous is None or previous.status != shown.status:
            since[result.gate_id] = result.pk
        if shown.status in FAILING and (previous is None or previous.status not in FAILING):
            last = worsened.get(result.gate_id)
            if last is None or result.received_at >= last.received_at:
                worsened[result.gate_id] = result
        current[result.gate_id] = shown
    return current, since, worsened


def gate_current_status(*, release: Release, gate: Gate) -> str | None:
    """The gate's CI status for the release's current commit, as the board shows it
    (None when nothing was reported). Reads the release's commit afresh."""
    release.refresh_from_db(fields=["commit_sha"])
    current, _since = current_results(release, gate.pk)
    result = current.get(gate.pk)
    return result.status if result else None


def failed_results_since(since: datetime) -> QuerySet[GateResult]:
    """Gate results that failed or errored since `since`, newest first."""
    return (
        GateResult.objects.filter(status__in=["failed", "error"], observed_at__gte=since)
        .select_related("gate", "release__product")
        .order_by("-observed_at")
    )
