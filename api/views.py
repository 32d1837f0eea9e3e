"""The JSON API (CONTRACT §3): results, releases, verdicts, rollout health, the schema.

Views parse, call a service or selector, and answer; refusals come back as problem+json
through `api_view`.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse

from api.results import result_report
from board.lifecycle import release_promote, release_report
from board.selectors import ReleaseBoard, release_board
from checklists.defects import defect_sync
from core.errors import NotFound, RuleViolation
from flags.selectors import flags_for_board
from integrations.inbox import deliveries_replay_schedule
from integrations.models import TokenScope
from integrations.providers.base import timestamp
from integrations.tokens import token_product
from operations.health import soak_until
from operations.models import HealthSample, Rollback
from operations.rollout import live_health, rollout_stages
from operations.services import HEALTH_FIELDS, health_sample_record
from releases.models import Product, Release, ReleaseState, Vote

from .auth import ApiRequest, api_view, json_object, raw_body
from .openapi import BUILD_PATTERN, COMMIT_PATTERN, schema


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _product_for(request: ApiRequest, slug: Any) -> Product:
    """The product a request names; the token must be for it."""
    if not isinstance(slug, str) or not slug.strip():
        raise RuleViolation("invalid_fields", "Some fields need fixing.", field="product")
    return token_product(request.api_token, slug.strip())


def _release_for(request: ApiRequest, product: str, version: str) -> Release:
    owner = _product_for(request, product)
    release = Release.objects.filter(product=owner, version=version).select_related("product").first()
    if release is None:
        raise NotFound("unknown_release", f"{owner.slug} has no release {version}.", field="version")
    return release


@api_view(("POST",), scope=TokenScope.RESULTS)
def results_create(request: ApiRequest) -> HttpResponse:
    body = raw_body(request)
    reported = result_report(token=request.api_token, data=json_object(body), raw_body=body)
    return JsonResponse(
        {"id": reported.result_id, "duplicate": reported.duplicate, "gate_status": reported.gate_status},
        status=200 if reported.duplicate else 202,
    )


@api_view(("POST",), scope=TokenScope.RESULTS)
def releases_create(request: ApiRequest) -> HttpResponse:
    data = json_object(raw_body(request))
    errors = [
        {"field": name, "message": "Required."}
        for name in ("product", "version", "build")
        if data.get(name) in (None, "")
    ]
    errors += [
        {"field": name, "message": "Must be a string."}
        for name in ("product", "version", "commit", "branch")
        if data.get(name) is not None and not isinstance(data.get(name), str)
    ]
    build = data.get("build")
    if build is not None and not (
        (
            isinstance(build, int | float)
            and not isinstance(build, bool)
            and math.isfinite(build)
            and build >= 1
            and build == int(build)
        )
        or (isinstance(build, str) and re.fullmatch(BUILD_PATTERN, build))
    ):
        errors.append({"field": "build", "message": "A positive whole number, for example 1240."})
    commit = data.get("commit")
    if isinstance(commit, str) and not re.fullmatch(COMMIT_PATTERN, commit):
        errors.append({"field": "commit", "message": "A git commit hash: 7 to 64 hexadecimal characters."})
    if errors:
        raise RuleViolation("invalid_fields", "Some fields need fixing.", errors=errors)
    product = _product_for(request, data["product"])
    release, what = release_report(
        product=product,
        version=data["version"],
        build=int(build) if isinstance(build, float) else build,
        commit=data.get("commit") or "",
        branch=(data.get("branch") or "")[:255],
        actor_label=f"token:{request.api_token.name}",
    )
    if what != "unchanged":
        # CI results that arrived before this release (or its new commit) apply now.
        deliveries_replay_schedule(release=release)
    board = release_board(release)
    return JsonResponse(
        {**_release_json(request, board), "outcome": what}, status=201 if what == "created" else 200
    )


@api_view(("POST",), scope=TokenScope.RESULTS)
def release_promote_view(request: ApiRequest, product: str, version: str) -> HttpResponse:
    """A draft becomes a release candidate (its checklists are copied); a draft without a
    commit needs `commit`. Anything but a draft → 409."""
    release = _release_for(request, product, version)
    body = raw_body(request)
    data = json_object(body) if body.strip() else {}
    commit = data.get("commit")
    if commit is not None and not (isinstance(commit, str) and re.fullmatch(COMMIT_PATTERN, commit)):
        raise RuleViolation(
            "invalid_fields",
            "Some fields need fixing.",
            errors=[{"field": "commit", "message": "A git commit hash: 7 to 64 hexadecimal characters."}],
        )
    # CI results that waited for its new commit apply now: the inbox hears
    # `release_commit_set` (integrations/apps.py), as it does for the board's promotion.
    release = release_promote(
        release=release, commit=commit or "", actor_label=f"token:{request.api_token.name}"
    )
    return JsonResponse(_release_json(request, release_board(release)), status=200)


def _board_url(request: HttpRequest, release: Release, anchor: str = "") -> str:
    url = request.build_absolute_uri(
        reverse("board:release_board", kwargs={"product": release.product.slug, "version": release.version})
    )
    return f"{url}#{anchor}" if anchor else url


def _decision(board: ReleaseBoard) -> dict[str, Any]:
    """`go` only while a Go stands (not stale, still ready); `no_go` while a No-Go stands."""
    decision = board.decision
    if board.go_stands:
        outcome = "go"
    elif (
        decision is not None and decision.outcome == Vote.NO_GO and board.release.state == ReleaseState.NO_GO
    ):
        outcome = "no_go"
    else:
        outcome = "pending"
    standing = decision if outcome != "pending" else None
    return {
        "decision": outcome,
        "decided_by": standing.decided_by.get_username() if standing else None,
        "decided_at": _iso(standing.decided_at) if standing else None,
        "reason": standing.rationale if standing else None,
    }


def _verdict_json(request: HttpRequest, board: ReleaseBoard) -> dict[str, Any]:
    return {
        "ready": board.verdict.ready,
        "blockers": [
            {
                "code": b["code"],
                "message": b["message"],
                # Where it is fixed: the board's row, the checklist or the product page.
                "url": _board_url(request, board.release, b["anchor"])
                if b["href"].startswith("#")
                else request.build_absolute_uri(b["href"]),
            }
            for b in board.blocker_items
        ],
    }


def _release_json(request: HttpRequest, board: ReleaseBoard) -> dict[str, Any]:
    release = board.release
    return {
        "product": release.product.slug,
        "version": release.version,
        "build": str(release.build_number),
        "commit": release.commit_sha,
        "branch": release.branch,
        "state": release.state,
        "url": _board_url(request, release),
        "verdict": _verdict_json(request, board),
        "gates": [
            {
                "key": row.gate.key,
                "name": row.gate.name,
                "blocking": row.gate.blocking,
                "status": row.display_status,
                "summary": row.result.summary if row.result else "",
                "url": row.result.url if row.result and row.result.url else None,
                "observed_at": _iso(row.result.observed_at) if row.result else None,
            }
            for row in board.gates
        ],
        "decision": _decision(board),
        "rollout": _rollout_json(release),
        "flags": _flags_json(release),
    }


def _flags_json(release: Release) -> list[dict[str, Any]]:
    """The product's feature flags: each one's state as last read back, and whether this
    release ships it (docs/flags.md)."""
    panel = flags_for_board(release)
    if panel is None:
        return []
    return [
        {
            "key": row.flag.key,
            "state": row.flag.state,
            "read_at": _iso(row.flag.state_read_at) if row.flag.state_read_at else None,
            "ships": row.ships,
        }
        for row in panel.rows
    ]


def _sample_json(sample: HealthSample | None) -> dict[str, Any] | None:
    if sample is None:
        return None
    return {
        "values": {
            name: getattr(sample, name) for name in HEALTH_FIELDS if getattr(sample, name) is not None
        },
        "source": sample.source,
        "sampled_at": _iso(sample.sampled_at),
        "breaches": sample.breaches,
        "problems": sample.problems,
    }


def _rollout_json(release: Release) -> dict[str, Any]:
    """CONTRACT §6: the stage, its soak, its health and why it halted."""
    live = release.state in (ReleaseState.ROLLING_OUT, ReleaseState.HALTED)
    health = live_health(release)  # a breach halt is a breach until a new sample
    last = release.health_samples.first()
    halt = release.halt if release.state == ReleaseState.HALTED else None
    until = soak_until(release) if release.state == ReleaseState.ROLLING_OUT else None
    return {
        "stages": rollout_stages(release),
        "halted": release.state == ReleaseState.HALTED,
        "stage_percent": release.rollout_percent,
        "stage_started_at": _iso(release.rollout_stage_started_at) if live else None,
        "soak_until": _iso(until) if until else None,
        "health": health.api_status if health else None,
        "last_sample": _sample_json(last),
        "halt": None
        if halt is None
        else {
            "kind": halt.get("kind", "person"),
            "reason": halt.get("reason", ""),
            "metric": halt.get("metric"),
            "value": halt.get("value"),
            "bound": halt.get("bound"),
            "source": halt.get("source"),
            "gate": halt.get("gate"),
            "by": halt.get("by", ""),
            "at": _iso(datetime.fromisoformat(halt["at"])) if halt.get("at") else None,
        },
        "rollback": _rollback(release),
        # Before CONTRACT §6 named `last_sample`; kept for existing readers.
        "last_health": None
        if last is None
        else {
            **{name: getattr(last, name) for name in HEALTH_FIELDS},
            "sampled_at": _iso(last.sampled_at),
            "breaches": last.breaches,
        },
    }


def _rollback(release: Release) -> dict[str, Any] | None:
    """A real rollback of the release, with its minutes against the product's target."""
    rollback = Rollback.objects.filter(release=release).first()
    if rollback is None:
        return None
    target = release.product.rollback_target_minutes
    return {
        "minutes": rollback.minutes,
        "target_minutes": target,
        "within_target": rollback.minutes <= target,
        "rolled_back_at": _iso(rollback.rolled_back_at),
    }


@api_view(("GET",), scope=TokenScope.VERDICT)
def release_detail(request: ApiRequest, product: str, version: str) -> HttpResponse:
    board = release_board(_release_for(request, product, version))
    return JsonResponse(_release_json(request, board))


@api_view(("GET",), scope=TokenScope.VERDICT)
def release_verdict(request: ApiRequest, product: str, version: str) -> HttpResponse:
    board = release_board(_release_for(request, product, version))
    decision = _decision(board)
    return JsonResponse(
        {
            "decision": decision["decision"],
            **_verdict_json(request, board),
            "decided_by": decision["decided_by"],
            "decided_at": decision["decided_at"],
        }
    )


def _number(data: dict[str, Any], name: str, errors: list[dict[str, str]]) -> float | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        errors.append({"field": name, "message": "Must be a number."})
        return None
    return float(value)


@api_view(("POST",), scope=TokenScope.METRICS)
def release_health(request: ApiRequest, product: str, version: str) -> HttpResponse:
    release = _release_for(request, product, version)
    data = json_object(raw_body(request))
    errors: list[dict[str, str]] = []
    values = {name: _number(data, name, errors) for name in HEALTH_FIELDS}
    sampled_at = None
    if data.get("sampled_at") not in (None, ""):  # "" as absent: sampled now
        sampled_at = timestamp(data["sampled_at"]) if isinstance(data["sampled_at"], str) else None
        if sampled_at is None:
            errors.append(
                {"field": "sampled_at", "message": "Must be a date and time such as 2026-11-27T08:00:00Z."}
            )
    if errors:
        raise RuleViolation("invalid_fields", "Some fields need fixing.", errors=errors)
    sample = health_sample_record(
        release=release,
        error_rate=values["error_rate"],
        p95_latency_ms=values["p95_latency_ms"],
        rate_429=values["rate_429"],
        crash_free_sessions=values["crash_free_sessions"],
        sampled_at=sampled_at,
        actor_label=f"token:{request.api_token.name}",
    )
    release.refresh_from_db(fields=["state"])
    return JsonResponse(
        {
            "id": sample.pk,
            "in_bounds": not sample.breaches,
            "within_bounds": not sample.breaches,  # the name before CONTRACT §6
            "breaches": sample.breaches,
            "halted": sample.halted,
            "state": release.state,
        },
        status=201,
    )


@api_view(("POST",), scope=TokenScope.RESULTS)
def release_defects(request: ApiRequest, product: str, version: str) -> HttpResponse:
    """A defect from CI or a tracker; an open critical one blocks the verdict."""
    release = _release_for(request, product, version)
    data = json_object(raw_body(request))
    errors = [
        {"field": name, "message": "Required: a non-empty string."}
        for name in ("title", "severity")
        if not isinstance(data.get(name), str) or not data[name].strip()
    ]
    errors += [
        {"field": name, "message": "Must be a string."}
        for name in ("tracker_url", "state", "resolution")
        if data.get(name) is not None and not isinstance(data[name], str)
    ]
    for name, limit in (("title", 255), ("tracker_url", 1000), ("resolution", 2000)):
        if isinstance(data.get(name), str) and len(data[name]) > limit:
            errors.append({"field": name, "message": f"At most {limit} characters."})
    if errors:
        raise RuleViolation("invalid_fields", "Some fields need fixing.", errors=errors)
    defect, outcome = defect_sync(
        release=release,
        title=data["title"],
        severity=data["severity"],
        tracker_url=data.get("tracker_url") or "",
        state=data.get("state") or "open",
        actor_label=f"token:{request.api_token.name}",
        resolution=data.get("resolution") or "",
    )
    return JsonResponse(
        {
            "id": defect.pk,
            "title": defect.title,
            "severity": defect.severity,
            "state": defect.state,
            "tracker_url": defect.tracker_url or None,
            "resolution": defect.resolution,
            "outcome": outcome,
        },
        status=201 if outcome == "created" else 200,
    )


@api_view(("GET",))
def openapi_json(request: HttpRequest) -> HttpResponse:
    return JsonResponse(schema(), json_dumps_params={"ensure_ascii": False})
