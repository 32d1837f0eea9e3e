"""API tokens, the webhook inbox and applying CI observations to gates.

A delivery is stored raw before anything reads it (`delivery_receive`), processed after
commit by a Celery task (`delivery_process`, safe to run twice), and kept waiting when
its release does not exist yet, to be replayed when it does (`deliveries_replay`).
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import F, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record, audit_record_many
from gates.models import Evaluation, Gate, GateResult, ResultSource, ResultStatus
from gates.services import gate_result_record, observation_known
from gonogo.errors import Conflict, DomainError, NotAllowed, NotFound, RuleViolation
from gonogo.validation import is_ci_link, json_without_nul
from live.services import live_notify
from releases.models import ACTIVE_STATES, Product, Release
from releases.selectors import gate_current_status
from releases.services import same_commit, version_validate

from .models import ApiToken, Delivery, DeliverySource, DeliveryState, Integration, TokenScope
from .providers import WEBHOOKS
from .providers.base import BadDelivery, Observation, timestamp

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "gng_"


def _token_hash(raw: str) -> str:
    # Tokens carry 256 random bits: a plain SHA-256 is enough to make a stolen table useless.
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_issue(
    *, name: str, product: Product, scopes: Iterable[str], actor: Any = None
) -> tuple[ApiToken, str]:
    """Create a token for one product's pipelines. Returns the token row and the raw
    token, which is never stored and cannot be shown again."""
    name = (name or "").strip()
    if not name:
        raise RuleViolation("name_required", _("Give the token a name."), field="name")
    scopes = list(dict.fromkeys(s.strip() for s in scopes if s.strip()))
    unknown = [s for s in scopes if s not in TokenScope.values]
    if unknown or not scopes:
        raise RuleViolation(
            "scope_invalid",
            _("Scopes must be some of: %(choices)s.") % {"choices": ", ".join(TokenScope.values)},
            field="scope",
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name[:100],
        product=product,
        scopes=scopes,
        prefix=raw[:12],
        token_hash=_token_hash(raw),
        created_at=timezone.now(),
    )
    audit_record(
        actor=actor, action="api_token.issue", obj=token, after={"scopes": scopes, "product": product.slug}
    )
    return token, raw


def token_product(token: ApiToken, slug: str) -> Product:
    """The token's product, when `slug` names it. Any other slug, another product's or one
    that names no product, gets the same refusal (NotAllowed `token_product`, the same
    words): a token never learns which other products exist."""
    if slug != token.product.slug:
        raise NotAllowed(
            "token_product",
            _("This token is for product %(token)s; ask for a token for the product you named.")
            % {"token": token.product.slug},
            field="product",
        )
    return token.product


def token_authenticate(raw: str) -> ApiToken | None:
    """The live token `raw` stands for, or None. Notes its last use (at most once a minute)."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("product")
        .filter(token_hash=_token_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@dataclass(frozen=True)
class Received:
    delivery_id: int
    duplicate: bool


_INSERT = """
    INSERT INTO integrations_delivery
        (source, integration_id, product_id, event, key, headers, body, received_at, state, outcome,
         attempts, head_sha, head_branch, version, release_id, processed_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 0, '', '', %s, NULL, NULL)
    ON CONFLICT (source, product_id, key) WHERE NOT (key = '') DO NOTHING
    RETURNING id
"""


def delivery_receive(
    *,
    source: str,
    product: Product,
    body: bytes,
    event: str = "",
    key: str = "",
    headers: Mapping[str, str] | None = None,
    integration: Integration | None = None,
    state: str = DeliveryState.RECEIVED,
    outcome: str = "",
    version: str = "",
) -> Received:
    """Store a delivery exactly as it came, in one statement. The same key again from the
    same source and product is a duplicate: the first one's id is returned and nothing is
    stored. New deliveries in state `received` are drained by a worker after commit."""
    key = key[:200]
    params = [
        source,
        integration.pk if integration else None,
        product.pk,
        event[:50],
        key,
        json.dumps(dict(headers or {})),
        body,
        timezone.now(),
        state,
        outcome,
        version[:64],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, params)
        row = cursor.fetchone()
    if row is None:
        existing = Delivery.objects.filter(source=source, product=product, key=key).values_list(
            "pk", flat=True
        )
        return Received(existing.get(), True)
    if state == DeliveryState.RECEIVED:
        transaction.on_commit(deliveries_drain_schedule, robust=True)
    return Received(int(row[0]), False)


def deliveries_drain_schedule() -> None:
    """Queue a drain of the inbox, at most one at a time: with Redis a short-lived key
    says a drain is already queued (the drain clears it before its last look, so nothing
    stored meanwhile is missed); without Redis every delivery queues one."""
    from .tasks import deliveries_drain_task

    if settings.REDIS_URL:
        from live.bus import _redis

        if not _redis().set(DRAIN_KEY, "1", nx=True, px=DRAIN_KEY_MS):
            return
    deliveries_drain_task.delay()


DRAIN_KEY = "gonogo:inbox:drain-queued"
DRAIN_KEY_MS = 30_000  # a drain that died frees the key after this


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


class _Resolver:
    """Gates and releases looked up once per batch, with the product locked (once) when a
    release is not found, so a release created meanwhile is either seen or replays us."""

    def __init__(self) -> None:
        self.gates: dict[int, dict[str, Gate]] = {}
        self.releases: dict[tuple[int, str, str], Release | None] = {}
        self.locked: set[int] = set()

    def gate(self, product: Product, key: str) -> Gate | None:
        if product.pk not in self.gates:
            self.gates[product.pk] = _gates_of(product)
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
            return by_branch, _commit_for(observation, by_branch.commit_sha)
    return None, ""


def _commit_for(observation: Observation, release_commit: str) -> str:
    """The commit a result is recorded against: the release's own when the observation is
    about it; a release without a commit takes the result as its own; otherwise the
    observation's commit (kept as evidence for that commit; it counts only if the release
    moves to it)."""
    sha = observation.sha.lower()
    if not sha or not release_commit or same_commit(sha, release_commit):
        return release_commit
    return sha


def _gates_of(product: Product) -> dict[str, Gate]:
    return {g.key: g for g in Gate.objects.filter(Q(products=product) | Q(products__isnull=True)).distinct()}


def _plan(
    integration: Integration, observations: Iterable[Observation], applied: Applied, resolver: _Resolver
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


def _record(planned: list[Planned], *, source: str) -> None:
    """Record planned results in bulk: the releases are locked (in id order, so batches
    never deadlock), duplicates of a recorded run, attempt and status on the same commit
    are skipped, and each new result gets its audit event; boards hear once per release."""
    if not planned:
        return
    release_ids = sorted({p.release.pk for p in planned})
    commits = dict(
        Release.objects.select_for_update()
        .filter(pk__in=release_ids)
        .order_by("pk")
        .values_list("pk", "commit_sha")
    )
    run_ids = {p.observation.run_id[:200] for p in planned}
    # Each run's recorded observations in time order, to tell news from a repeat.
    history: dict[tuple[Any, ...], list[tuple[str, datetime]]] = {}
    for *run, status, observed in (
        GateResult.objects.filter(release_id__in=release_ids, run_id__in=run_ids)
        .order_by("observed_at", "id")
        .values_list("release_id", "gate_id", "commit_sha", "run_id", "run_attempt", "status", "observed_at")
    ):
        history.setdefault(tuple(run), []).append((status, observed))
    now = timezone.now()
    rows: list[tuple[Planned, GateResult]] = []
    for p in planned:
        o = p.observation
        attempt = max(1, min(o.attempt, 2**31 - 1))
        commit = _commit_for(o, commits[p.release.pk])
        observed_at = min(o.observed_at, now) if o.observed_at else now
        seen = history.setdefault((p.release.pk, p.gate.pk, commit, o.run_id[:200], attempt), [])
        known = observation_known(
            seen, status=p.status, observed_at=observed_at, timed=o.observed_at is not None
        )
        if o.run_id and known is not None:
            p.applied.duplicates += 1
            p.applied.notes.append(f"“{o.identity}” → {p.gate.key} {p.status}: already recorded")
            continue
        bisect.insort(seen, (p.status, observed_at), key=lambda entry: entry[1])
        rows.append(
            (
                p,
                GateResult(
                    release=p.release,
                    gate=p.gate,
                    commit_sha=commit,
                    status=p.status,
                    source=source,
                    url=o.url[:1000] if is_ci_link(o.url[:1000]) else "",
                    summary=(o.summary + (" (allowed to fail)" if p.status != o.status else ""))[:500],
                    check_name=o.identity[:200],
                    run_id=o.run_id[:200],
                    run_attempt=attempt,
                    observed_at=observed_at,
                    received_at=now,
                    reporter_label=p.label[:150],
                ),
            )
        )
    created = GateResult.objects.bulk_create([r for _p, r in rows])
    audit_record_many(
        [
            {
                "actor_label": p.label,
                "action": "gate_result.record",
                "obj": result,
                "after": {"gate": p.gate.key, "status": p.status, "source": source, "run_id": result.run_id},
                "release_id": p.release.pk,
            }
            for (p, _row), result in zip(rows, created, strict=True)
        ]
    )
    for p, _row in rows:
        p.applied.recorded += 1
        p.applied.notes.append(f"“{p.observation.identity}” → {p.gate.key} {p.status} on {p.release}")
    for release_id in sorted({p.release.pk for p, _row in rows}):
        live_notify(release_id=release_id, change="gate_result")


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
    _record(_plan(integration, observations, applied, _Resolver()), source=source)
    return applied


def _payload(body: bytes) -> dict[str, Any]:
    try:
        # PostgreSQL text cannot hold a NUL: removed from every string read out of it (the
        # stored body stays as it came, as bytes).
        payload = json_without_nul(body)
    except (ValueError, RecursionError) as exc:
        raise BadDelivery(f"the body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise BadDelivery("the body is JSON but not an object")
    return payload


def _conclude(delivery: Delivery, applied: Applied) -> None:
    if applied.waiting:
        delivery.state = DeliveryState.WAITING
        delivery.head_sha = applied.waiting_sha.lower()[:64]
        delivery.head_branch = applied.waiting_branch[:255]
    elif applied.recorded:
        delivery.state = DeliveryState.APPLIED
    else:
        delivery.state = DeliveryState.IGNORED
    delivery.outcome = "\n".join(applied.notes) or "nothing in this event concerns a gate"


def _fail(delivery: Delivery, exc: Exception) -> None:
    delivery.state = DeliveryState.FAILED
    if isinstance(exc, BadDelivery | DomainError):
        delivery.outcome = str(exc)
    else:  # a payload no provider sends; kept, marked, never retried forever
        logger.warning("delivery %s could not be processed", delivery.pk, exc_info=exc)
        delivery.outcome = f"could not be processed: {exc.__class__.__name__}: {exc}"[:2000]


SAVED = ["state", "outcome", "attempts", "processed_at", "head_sha", "head_branch"]


def _process(deliveries: list[Delivery]) -> None:
    """Apply locked deliveries together (see `_record`). If the batch as a whole fails for
    a reason other than the database going away, each is applied alone, so one bad
    delivery is marked failed and the others still apply."""
    now = timezone.now()
    for delivery in deliveries:
        delivery.attempts += 1
        delivery.processed_at = now
    try:
        with transaction.atomic():
            resolver = _Resolver()
            planned: list[Planned] = []
            outcomes: list[tuple[Delivery, Applied | Exception]] = []
            for delivery in deliveries:
                try:
                    applied = Applied()
                    payload = _payload(bytes(delivery.body))
                    if delivery.source == DeliverySource.API:
                        with transaction.atomic():
                            applied = _api_result_replay(delivery, payload)
                    else:
                        assert delivery.integration is not None
                        observations = WEBHOOKS[delivery.source].observations(delivery.event, payload)
                        planned += _plan(delivery.integration, observations, applied, resolver)
                    outcomes.append((delivery, applied))
                except (OperationalError, InterfaceError):
                    raise
                except Exception as exc:
                    outcomes.append((delivery, exc))
            _record(planned, source=ResultSource.WEBHOOK)
            for delivery, outcome in outcomes:
                if isinstance(outcome, Exception):
                    _fail(delivery, outcome)
                else:
                    _conclude(delivery, outcome)
            Delivery.objects.bulk_update(deliveries, SAVED)
    except (OperationalError, InterfaceError):
        raise  # the database went away: the task retries with backoff
    except Exception as exc:
        if len(deliveries) == 1:
            delivery = deliveries[0]
            _fail(delivery, exc)
            Delivery.objects.filter(pk=delivery.pk).update(**{f: getattr(delivery, f) for f in SAVED})
            return
        logger.warning(
            "a batch of %s deliveries failed; applying them one by one", len(deliveries), exc_info=True
        )
        for delivery in deliveries:
            with transaction.atomic():
                locked = (
                    Delivery.objects.select_for_update()
                    .select_related("integration__product")
                    .get(pk=delivery.pk)
                )
                _process([locked])


def delivery_process(*, delivery_id: int) -> Delivery:
    """Apply one stored delivery. Safe to run twice: an applied or ignored delivery is left
    alone; a waiting one is tried again (its release may exist now)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("integration__product", "product")
            .get(pk=delivery_id)
        )
        if delivery.state not in (DeliveryState.APPLIED, DeliveryState.IGNORED):
            _process([delivery])
    delivery.refresh_from_db()
    return delivery


def deliveries_drain(*, limit: int = 200) -> int:
    """Apply up to `limit` received deliveries, oldest first, claimed so that concurrent
    drains never take the same ones. Returns how many were taken."""
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(state=DeliveryState.RECEIVED)
            .select_related("integration__product", "product")
            .order_by("id")[:limit]
        )
        if batch:
            _process(batch)
    return len(batch)


def deliveries_waiting_for(release: Release) -> list[int]:
    """Ids of deliveries kept for `release` before it existed (or before its new commit)."""
    match = Q(version=release.version, source=DeliverySource.API)
    if release.commit_sha:
        match |= Q(head_sha__startswith=release.commit_sha)
    if release.branch:
        match |= Q(head_branch=release.branch)
    return list(
        Delivery.objects.filter(match, product_id=release.product_id, state=DeliveryState.WAITING)
        .order_by("received_at", "id")
        .values_list("pk", flat=True)
    )


def deliveries_replay(*, release: Release) -> int:
    """Apply, oldest first and in one batch, what waited for this release (a bad delivery
    is marked failed by `_process`, the others still apply). Returns how many were tried."""
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=deliveries_waiting_for(release), state=DeliveryState.WAITING)
            .select_related("integration__product", "product")
            .order_by("received_at", "id")
        )
        if batch:
            _process(batch)
    return len(batch)


def deliveries_replay_schedule(*, release: Release) -> None:
    """After commit, replay what waited for `release` (called when it is created or takes
    a new build)."""
    from .tasks import deliveries_replay_task

    transaction.on_commit(lambda: deliveries_replay_task.delay(release.pk), robust=True)


def deliveries_prune() -> int:
    """Forget deliveries older than the retention (at least 7 days, so redelivery of a
    GitHub delivery id stays harmless for at least that long)."""
    keep = max(7, settings.GONOGO_DELIVERY_KEEP_DAYS)
    deleted, _rows = Delivery.objects.filter(received_at__lt=timezone.now() - timedelta(days=keep)).delete()
    return deleted


# The generic results API ------------------------------------------------------------------

RESULT_FIELDS = ("product", "version", "gate", "status")


@dataclass(frozen=True)
class Reported:
    result_id: int
    duplicate: bool
    gate_status: str | None


def _result_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check the body of POST /api/v1/results; every bad field is reported at once."""
    errors: list[dict[str, str]] = []
    clean: dict[str, Any] = {}
    for name in RESULT_FIELDS:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append({"field": name, "message": _("Required: a non-empty string.")})
        else:
            clean[name] = value.strip()
    status = clean.get("status")
    if status is not None and status not in ResultStatus.values:
        errors.append(
            {
                "field": "status",
                "message": _("Must be one of: %(choices)s.") % {"choices": ", ".join(ResultStatus.values)},
            }
        )
    for name, limit in (("build", 20), ("commit", 64), ("run_id", 200), ("url", 1000), ("summary", 500)):
        value = data.get(name)
        if value is None:
            clean[name] = ""
        elif name == "build" and isinstance(value, int | float) and not isinstance(value, bool):
            clean[name] = str(int(value)) if math.isfinite(value) and value == int(value) else str(value)
        elif not isinstance(value, str):
            errors.append({"field": name, "message": _("Must be a string.")})
        elif len(value) > limit:
            errors.append({"field": name, "message": _("At most %(n)s characters.") % {"n": limit}})
        else:
            clean[name] = value.strip()
    url = clean.get("url")
    if url and not is_ci_link(url):
        errors.append({"field": "url", "message": _("Must be an http(s) link.")})
    finished = data.get("finished_at")
    clean["finished_at"] = None
    if finished not in (None, ""):
        parsed = timestamp(finished) if isinstance(finished, str) else None
        if parsed is None:
            errors.append(
                {
                    "field": "finished_at",
                    "message": _("Must be a date and time such as 2026-11-27T08:00:00Z."),
                }
            )
        clean["finished_at"] = parsed
    if errors:
        raise RuleViolation("invalid_fields", _("Some fields need fixing."), errors=errors)
    return clean


def _apply_result(*, release: Release, gate: Gate, clean: Mapping[str, Any], label: str) -> Reported:
    build = clean["build"]
    if build and build != str(release.build_number):
        raise Conflict(
            "build_mismatch",
            _(
                "%(release)s is at build %(current)s, not %(build)s. Post the new build to /api/v1/releases first."
            )
            % {"release": release, "current": release.build_number, "build": build},
            field="build",
        )
    commit = clean["commit"].lower()
    if commit and release.commit_sha and not same_commit(commit, release.commit_sha):
        raise Conflict(
            "commit_mismatch",
            _(
                "%(release)s is at commit %(current)s, not %(commit)s. Post the new build to /api/v1/releases first."
            )
            % {"release": release, "current": release.commit_sha[:12] or "—", "commit": commit[:12]},
            field="commit",
        )
    recorded = gate_result_record(
        release=release,
        gate=gate,
        status=clean["status"],
        source=ResultSource.API,
        commit=release.commit_sha,
        url=clean["url"],
        summary=clean["summary"],
        run_id=clean["run_id"],
        observed_at=clean["finished_at"],
        actor_label=label,
    )
    return Reported(recorded.result.pk, recorded.duplicate, gate_current_status(release=release, gate=gate))


def _release_by_version(product: Product, version: str) -> Release | None:
    return Release.objects.filter(product=product, version=version).select_related("product").first()


def result_report(*, token: ApiToken, data: Mapping[str, Any], raw_body: bytes) -> Reported:
    """POST /api/v1/results. A product other than the token's (known or not) → NotAllowed
    `token_product`; an unknown gate → NotFound; an unknown release → NotFound `unknown_release`, with the body
    kept and applied once the release is created."""
    clean = _result_fields(data)
    product = token_product(token, clean["product"])
    gate = _gates_of(product).get(clean["gate"])
    if gate is None:
        raise NotFound(
            "unknown_gate",
            _("%(p)s has no gate “%(g)s”.") % {"p": product.slug, "g": clean["gate"]},
            field="gate",
        )
    label = f"token:{token.name}"
    release = _release_by_version(product, clean["version"])
    if release is None:
        version_validate(clean["version"])  # a version that can never exist is refused, not kept
        with transaction.atomic():
            # Serialise with release_create (it locks the product): either the release is
            # visible now, or its replay will see this result waiting.
            Product.objects.select_for_update().filter(pk=product.pk).values_list("pk").get()
            release = _release_by_version(product, clean["version"])
            if release is None:
                delivery_receive(
                    source=DeliverySource.API,
                    product=product,
                    body=raw_body,
                    event="result",
                    headers={"token": label, "token_id": str(token.pk)},
                    state=DeliveryState.WAITING,
                    version=clean["version"],
                )
        if release is None:
            raise NotFound(
                "unknown_release",
                _(
                    "%(p)s has no release %(v)s yet. The result is kept and applied when the release is created."
                )
                % {"p": product.slug, "v": clean["version"]},
                field="version",
            )
    return _apply_result(release=release, gate=gate, clean=clean, label=label)


def _api_result_replay(delivery: Delivery, payload: Mapping[str, Any]) -> Applied:
    applied = Applied()
    token_id = str(delivery.headers.get("token_id", ""))
    if token_id and not ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists():
        raise NotAllowed("token_revoked", "the token that sent this result was revoked before it could apply")
    clean = _result_fields(payload)
    release = (
        Release.objects.filter(product=delivery.product, version=clean["version"])
        .select_related("product")
        .first()
    )
    gate = _gates_of(delivery.product).get(clean["gate"])
    if release is None:
        applied.waiting = True  # matched by version when the release is created
        applied.notes.append(f"no release {clean['version']} yet; waiting")
        return applied
    if gate is None:
        applied.notes.append(f"no gate {clean['gate']}; ignored")
        return applied
    reported = _apply_result(
        release=release, gate=gate, clean=clean, label=str(delivery.headers.get("token", "api"))
    )
    if reported.duplicate:
        applied.duplicates += 1
    else:
        applied.recorded += 1
    applied.notes.append(f"{clean['gate']} {clean['status']} on {release}")
    return applied
