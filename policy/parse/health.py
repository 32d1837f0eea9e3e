"""`[products.health]`: the bounds, auto-advance, and the monitoring sources read while
the product rolls out (`[products.health.prometheus]`, `[products.health.sentry]`)."""

from __future__ import annotations

from typing import Any

from core.validation import is_ci_link
from operations.monitoring import PROMETHEUS_METRICS

from ..specs import HealthSpec, SourceSpec
from .checker import Checker

HEALTH_KEYS = {
    "error_rate": (int, float),
    "p95_latency_ms": int,
    "rate_429": (int, float),
    "crash_free_sessions": (int, float),
    "soak_minutes": int,
    "auto_advance": bool,
    "prometheus": dict,
    "sentry": dict,
}
PROMETHEUS_KEYS = {"url": str, "token_env": str, "interval_seconds": int, "queries": dict, "active": bool}
SENTRY_KEYS = {
    "url": str,
    "org": str,
    "project": str,
    "release": str,
    "token_env": str,
    "interval_seconds": int,
    "active": bool,
}
MIN_INTERVAL_SECONDS = 10
URL_MAX = 200  # HealthSource.url
DEFAULT_RELEASE = "{product}@{version}+{build}"


def health_check(c: Checker, health: dict[str, Any], where: str) -> None:
    """The bounds' ranges and each source table's own values (`*_env` names are checked
    with the whole file's, by `secret_envs_check`)."""
    c.table(health, HEALTH_KEYS, where)
    for rate in ("error_rate", "rate_429", "crash_free_sessions"):
        value = health.get(rate)
        if isinstance(value, int | float) and not isinstance(value, bool) and not 0 <= value <= 1:
            c.add(f"{where}.{rate}", "is a fraction between 0 and 1 (0.01 means 1%)")
    for key in ("p95_latency_ms", "soak_minutes"):
        value = health.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value < 0:
            c.add(f"{where}.{key}", "must be 0 or more")
    if isinstance(health.get("prometheus"), dict):
        _prometheus_check(c, health["prometheus"], f"{where}.prometheus")
    if isinstance(health.get("sentry"), dict):
        _sentry_check(c, health["sentry"], f"{where}.sentry")


def _source_common_check(c: Checker, table: dict[str, Any], keys: dict[str, Any], where: str) -> None:
    c.table(table, keys, where)
    url = table.get("url")
    if "url" not in table:
        c.add(f"{where}.url", "is required")
    elif isinstance(url, str) and (not is_ci_link(url) or len(url) > URL_MAX):
        c.add(f"{where}.url", f"must be an http or https address (at most {URL_MAX} characters)")
    interval = table.get("interval_seconds")
    if isinstance(interval, int) and not isinstance(interval, bool) and interval < MIN_INTERVAL_SECONDS:
        c.add(f"{where}.interval_seconds", f"must be {MIN_INTERVAL_SECONDS} or more")


def _prometheus_check(c: Checker, table: dict[str, Any], where: str) -> None:
    _source_common_check(c, table, PROMETHEUS_KEYS, where)
    queries = table.get("queries")
    if "queries" not in table:
        c.add(f"{where}.queries", f"is required: PromQL for one or more of {', '.join(PROMETHEUS_METRICS)}")
    if not isinstance(queries, dict):
        return
    if not queries:
        c.add(f"{where}.queries", f"is empty: give PromQL for one or more of {', '.join(PROMETHEUS_METRICS)}")
    for metric, query in queries.items():
        if metric not in PROMETHEUS_METRICS:
            c.add(f"{where}.queries.{metric}", f"unknown metric (known: {', '.join(PROMETHEUS_METRICS)})")
        elif not isinstance(query, str) or not query.strip():
            c.add(f"{where}.queries.{metric}", "must be a PromQL query (a string)")


def _sentry_check(c: Checker, table: dict[str, Any], where: str) -> None:
    _source_common_check(c, table, SENTRY_KEYS, where)
    for key in ("org", "project"):
        if key not in table:
            c.add(f"{where}.{key}", "is required")
        elif isinstance(table[key], str) and not table[key].strip():
            c.add(f"{where}.{key}", "must not be empty")
    project = table.get("project")
    if isinstance(project, str) and project.strip() and not project.isdigit():
        c.add(f"{where}.project", 'must be the project\'s numeric id, as a string (for example "1234")')
    release = table.get("release")
    if isinstance(release, str) and "{version}" not in release and "{build}" not in release:
        c.add(f"{where}.release", "must contain {version} or {build}, so each release has its own name")


def health_spec(health: dict[str, Any]) -> HealthSpec:
    """The checked table as a spec; a key left out is `None` (keep what is stored)."""

    def fraction(key: str) -> float | None:
        return float(health[key]) if key in health else None

    return HealthSpec(
        error_rate=fraction("error_rate"),
        p95_latency_ms=health.get("p95_latency_ms"),
        rate_429=fraction("rate_429"),
        crash_free_sessions=fraction("crash_free_sessions"),
        soak_minutes=health.get("soak_minutes"),
        auto_advance=health.get("auto_advance"),
        prometheus=_source("prometheus", health["prometheus"]) if "prometheus" in health else None,
        sentry=_source("sentry", health["sentry"]) if "sentry" in health else None,
    )


def _source(kind: str, t: dict[str, Any]) -> SourceSpec:
    return SourceSpec(
        kind=kind,
        url=t["url"],
        token_env=t.get("token_env", ""),
        interval_seconds=t.get("interval_seconds", 60),
        queries=tuple(sorted((t.get("queries") or {}).items())),
        org=t.get("org", ""),
        project=t.get("project", ""),
        release_template=t.get("release", DEFAULT_RELEASE),
        active=t.get("active", True),
    )
