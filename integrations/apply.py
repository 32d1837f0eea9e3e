"""Applying CI observations (from a webhook or a poll) to gates: which gate and release
each one is about, and the results recorded for them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, Q, Value

from core.rows import columns, fetch_one, instance
from gates.models import Evaluation, Gate, ResultSource, ResultStatus
from gates.recording import ResultEntry, commit_for, gate_results_record
from releases.models import ACTIVE_STATES, Product, Release

from .models import Integration
from .providers.base import Observation


@dataclass
class Applied:
    """What one delivery (or one poll) changed, in words for the admin."""

    recorded: int = 0
    duplicates: int = 0
    notes: list[str] = field(default_factory=list)
    waiting: bool = False
    waiting_sha: str = ""
    waiting_branch: str = ""


@dataclass
class Planned:
    """One gate result to record, worked out from one observation."""

    release: Release
    gate: Gate
    observation: Observation
    status: str
    label: str
    applied: Applied


class Resolver:
    """Gates and releases looked up once per batch, with the product locked (once) when a
    release is not found, so a release created meanwhile is either seen or replays us."""

    def __init__(self) -> None:
        self.gates: dict[int, dict[str, Gate]] = {}
        self.releases: dict[tuple[int, str, str], Release | None] = {}
        self.locked: set[int] = set()

    def gate(self, product: Product, key: str) -> Gate | None:
        if product.pk not in self.gates:
            self.gates[product.pk] = gates_of(product)
        return self.gates[product.pk].get(key)

    def release(self, product: Product, observation: Observation) -> Release | None:
        key = (product.pk, observation.sha.lower(), observation.branch)
        if key not in self.releases:
            found = _release_for(product, observation)[0]
            if found is None and product.pk not in self.locked:
                Product.objects.select_for_update().filter(pk=product.pk).values_list("pk").get()
                self.locked.add(product.pk)
                found = _release_for(product, observation)[0]
            self.releases[key] = found
        return self.releases[key]


def _release_for(product: Product, observation: Observation) -> tuple[Release | None, str]:
    """The release a CI observation is about, and the commit to record it against: by
    head SHA (a release may hold an abbreviated SHA), else by head branch (the newest
    active release on that branch)."""
    releases = Release.objects.filter(product=product).select_related("product").order_by("-build_number")
    sha = observation.sha.lower()
    if sha:
        by_sha = (
            releases.exclude(commit_sha="")
            .alias(observed=Value(sha))
            .filter(observed__startswith=F("commit_sha"))
            .first()
        )
        if by_sha is not None:
            return by_sha, by_sha.commit_sha
    if observation.branch:
        by_branch = releases.filter(branch=observation.branch, state__in=ACTIVE_STATES).first()
        if by_branch is not None:
            return by_branch, commit_for(observation.sha, by_branch.commit_sha)
    return None, ""


def gates_of(product: Product) -> dict[str, Gate]:
    return {g.key: g for g in Gate.objects.filter(Q(products=product) | Q(products__isnull=True)).distinct()}


def gate_of(product: Product, key: str) -> Gate | None:
    """`gates_of(product).get(key)` in one light query (core.rows): a gate of that key that
    names `product`, or names no product (it applies to all)."""
    links = Gate.products.through._meta.db_table
    row = fetch_one(
        f"SELECT {columns(Gate, 'g')} FROM {Gate._meta.db_table} g WHERE g.key = %s AND ("  # noqa: S608 (names from the models)
        f"EXISTS (SELECT 1 FROM {links} l WHERE l.gate_id = g.id AND l.product_id = %s)"
        f" OR NOT EXISTS (SELECT 1 FROM {links} l WHERE l.gate_id = g.id))",
        [key, product.pk],
    )
    return instance(Gate, row) if row is not None else None


def plan(
    integration: Integration, observations: Iterable[Observation], applied: Applied, resolver: Resolver
) -> list[Planned]:
    """Which observations become which gate results; notes say why others do not."""
    product = integration.product
    planned = []
    for observation in observations:
        gate_key = integration.gate_for(observation.identity)
        if gate_key is None and observation.identity != observation.name:
            gate_key = integration.gate_for(observation.name)  # plain job names keep working
        if gate_key is None:
            applied.notes.append(f"“{observation.identity}”: no gate pattern matches; ignored")
            continue
        gate = resolver.gate(product, gate_key)
        if gate is None or gate.evaluation != Evaluation.CI:
            applied.notes.append(
                f"“{observation.identity}” → {gate_key}: not a CI gate of {product.slug}; ignored"
            )
            continue
        release = resolver.release(product, observation)
        if release is None:
            applied.waiting = True
            applied.waiting_sha = applied.waiting_sha or observation.sha
            applied.waiting_branch = applied.waiting_branch or observation.branch
            applied.notes.append(
                f"“{observation.identity}” → {gate_key}: no release with commit {observation.sha[:12] or '—'}"
                f" or branch {observation.branch or '—'} yet; waiting"
            )
            continue
        status = observation.status
        if status == ResultStatus.FAILED and observation.allow_failure and gate.allow_failure_passes:
            status = ResultStatus.PASSED
        planned.append(
            Planned(release, gate, observation, status, f"{integration.provider}:{integration.slug}", applied)
        )
    return planned


def record(planned: list[Planned], *, source: str) -> None:
    """Record planned results in one batch (`gate_results_record`: releases locked in id
    order, repeats of a recorded observation skipped, one audit event per new result,
    boards told once per release), and say on each delivery what came of its own."""
    entries = [
        ResultEntry(
            release=p.release,
            gate=p.gate,
            status=p.status,
            source=source,
            head_sha=p.observation.sha,
            url=p.observation.url,
            summary=p.observation.summary
            + (" (allowed to fail)" if p.status != p.observation.status else ""),
            check_name=p.observation.identity,
            run_id=p.observation.run_id,
            run_attempt=p.observation.attempt,
            observed_at=p.observation.observed_at,
            actor_label=p.label,
        )
        for p in planned
    ]
    outcomes = list(zip(planned, gate_results_record(entries=entries), strict=True))
    for p, recorded in outcomes:
        if recorded.duplicate:
            p.applied.duplicates += 1
            p.applied.notes.append(f"“{p.observation.identity}” → {p.gate.key} {p.status}: already recorded")
    for p, recorded in outcomes:
        if not recorded.duplicate:
            p.applied.recorded += 1
            p.applied.notes.append(f"“{p.observation.identity}” → {p.gate.key} {p.status} on {p.release}")


def observations_apply(
    *,
    integration: Integration,
    observations: Iterable[Observation],
    source: str = ResultSource.WEBHOOK,
) -> Applied:
    """Record each observation whose name maps to a CI gate of the integration's product,
    on the release its commit or branch belongs to. Unmapped names change nothing; an
    observation with no release yet leaves the outcome `waiting`. Must run in a
    transaction (it locks the releases it records on)."""
    applied = Applied()
    record(plan(integration, observations, applied, Resolver()), source=source)
    return applied
