"""The generic results API's evidence rules: a result body checked field by field, and
applied to its release's gate (at once, or replayed from the inbox once the release
exists). The request itself is api/results.py's."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from core.errors import Conflict, NotAllowed, RuleViolation
from core.rows import columns, fetch_one, instance
from core.validation import is_ci_link
from gates.models import Gate, ResultSource, ResultStatus
from gates.selectors import gate_current_status
from gates.services import gate_result_record
from releases.models import Product, Release, same_commit

from .apply import Applied, gate_of
from .models import ApiToken, Delivery
from .providers.base import timestamp

RESULT_FIELDS = ("product", "version", "gate", "status")


@dataclass(frozen=True)
class Reported:
    result_id: int
    duplicate: bool
    gate_status: str | None


def result_fields(data: Mapping[str, Any]) -> dict[str, Any]:
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


def apply_result(*, release: Release, gate: Gate, clean: Mapping[str, Any], label: str) -> Reported:
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
    # Written together with the results other requests are posting at the same moment
    # (gates.grouping): one transaction for a burst, each answered once its own is stored.
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
        grouped=True,
    )
    status = recorded.gate_status  # from the gate's kept state, in the writer's transaction
    if status is None:
        status = gate_current_status(release=release, gate=gate)
    return Reported(recorded.result.pk, recorded.duplicate, status)


def release_by_version(product: Product, version: str) -> Release | None:
    """Release `version` of `product` (with `product` as its product), or None: as SQL
    (core.rows), for it is asked by every CI result."""
    row = fetch_one(
        f"SELECT {columns(Release, 'r')} FROM {Release._meta.db_table} r WHERE r.product_id = %s AND r.version = %s",  # noqa: S608 (names from the models)
        [product.pk, version],
    )
    if row is None:
        return None
    release = instance(Release, row)
    release.product = product
    return release


def api_result_replay(delivery: Delivery, payload: Mapping[str, Any]) -> Applied:
    applied = Applied()
    token_id = str(delivery.headers.get("token_id", ""))
    if token_id and not ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).exists():
        raise NotAllowed("token_revoked", "the token that sent this result was revoked before it could apply")
    clean = result_fields(payload)
    release = (
        Release.objects.filter(product=delivery.product, version=clean["version"])
        .select_related("product")
        .first()
    )
    gate = gate_of(delivery.product, clean["gate"])
    if release is None:
        applied.waiting = True  # matched by version when the release is created
        applied.notes.append(f"no release {clean['version']} yet; waiting")
        return applied
    if gate is None:
        applied.notes.append(f"no gate {clean['gate']}; ignored")
        return applied
    reported = apply_result(
        release=release, gate=gate, clean=clean, label=str(delivery.headers.get("token", "api"))
    )
    if reported.duplicate:
        applied.duplicates += 1
    else:
        applied.recorded += 1
    applied.notes.append(f"{clean['gate']} {clean['status']} on {release}")
    return applied
