"""Reads for gates: which gates apply to a product, and each gate's current result for a
release's current commit, from its kept state (gates.states)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db.models import F, Q, QuerySet

from releases.models import Product, Release

from .folding import FAILING, RESULT_ORDER, STATUS_WEIGHT, TERMINAL, WAIVABLE_STATUSES
from .models import Gate, GateResult, GateState
from .states import states_read

__all__ = ["FAILING", "RESULT_ORDER", "STATUS_WEIGHT", "TERMINAL", "WAIVABLE_STATUSES"]


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


def current_results(
    release: Release, gate_id: int | None = None
) -> tuple[dict[int, GateResult], dict[int, int]]:
    """Per gate: its current result for the release's current commit (per CI job the
    newest observation, an older run or attempt never overriding a newer one; across jobs
    the most worrying), and the id of the result from which the gate's status has held."""
    current, since, _worsened = gate_history(release, gate_id)
    return current, since


GateHistory = tuple[dict[int, GateResult], dict[int, int], dict[int, GateResult]]


def gate_history(release: Release, gate_id: int | None = None) -> GateHistory:
    """`current_results`, and per gate the result that last turned it failing (failed,
    error or skipped, from any other status or none): when the newest bad news came. A
    sign-off given before it is stale (board.staleness). One indexed query on the gates'
    kept states (gates.states), whatever the length of the history."""
    return _unpack(states_read([(release.pk, release.commit_sha)], gate_id)[release.pk])


def current_results_for(releases: Sequence[Release]) -> dict[int, GateHistory]:
    """`gate_history` for many releases in one query, by release id."""
    if not releases:
        return {}
    states = states_read((r.pk, r.commit_sha) for r in releases)
    return {pk: _unpack(per_gate) for pk, per_gate in states.items()}


def _unpack(states: dict[int, GateState]) -> GateHistory:
    # states_read returns only rows with a folded result (current and since set).
    current = {gate_id: state.current for gate_id, state in states.items() if state.current is not None}
    since = {gate_id: state.since_id for gate_id, state in states.items() if state.since_id is not None}
    worsened = {gate_id: state.worsened for gate_id, state in states.items() if state.worsened is not None}
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
