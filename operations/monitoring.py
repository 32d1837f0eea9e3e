"""Reading rollout health from monitoring (docs/rollout.md "Monitoring sources").

A `HealthSource` is read for one release: Prometheus by one instant query per metric
(`GET /api/v1/query`), Sentry by the release's crash-free sessions (`GET
/api/0/organizations/<org>/sessions/`). A reading never guesses: whatever it could not
read becomes a problem `{"metric", "code", "detail", "source", …}` instead of a value,
and the sample it makes is inconclusive for that metric. Reading touches no database
(sampling runs it in threads); `problem_text` says a problem in the user's language.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.utils.translation import gettext as _

from core.outbound import Answer, OutboundError, http_request
from core.secrets import secret_from_env
from releases.health_words import metric_label, source_label
from releases.models import Release

from .models import HealthSource, SourceKind

# What a Prometheus source may be asked for (a Sentry source gives crash_free_sessions).
PROMETHEUS_METRICS = ("error_rate", "p95_latency_ms", "rate_429")
SENTRY_METRIC = "crash_free_sessions"
SENTRY_FIELD = "crash_free_rate(session)"
RATES = frozenset({"error_rate", "rate_429", "crash_free_sessions"})
# A problem's codes (docs/rollout.md); `problem_text` words each one.
PROBLEM_CODES = (
    "timeout",
    "unreachable",
    "http_error",
    "bad_response",
    "no_series",
    "no_value",
    "no_token",
    "not_configured",
    "error",
)


@dataclass
class Reading:
    """What one source said about one release: metric → value, and what it could not
    say (a metric has a value or a problem, never both; a sample keeps both lists)."""

    values: dict[str, float] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)


class _Unreadable(Exception):
    """One metric's problem (code, English detail, extra facts for `problem_text`)."""

    def __init__(self, code: str, detail: str, **facts: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.facts = facts


def default_timeout() -> float:
    return float(getattr(settings, "GONOGO_MONITORING_TIMEOUT_SECONDS", 5.0))


def template_fill(template: str, release: Release) -> str:
    """{version} {build} {product} filled in by plain replacement: PromQL is full of
    braces (`{code=~"5.."}`), so str.format cannot be used."""
    return (
        template.replace("{version}", release.version)
        .replace("{build}", str(release.build_number))
        .replace("{product}", release.product.slug)
    )


def _problem(source: HealthSource, metric: str, error: _Unreadable) -> dict[str, Any]:
    return {
        "metric": metric,
        "code": error.code,
        "detail": error.detail,
        "source": source.kind,
        **error.facts,
    }


def _headers(source: HealthSource) -> dict[str, str]:
    """Accept JSON; the bearer token when the source names one. Raises _Unreadable
    `no_token` when the named variable is empty (better said than a 401)."""
    headers = {"Accept": "application/json"}
    if source.token_env:
        token = secret_from_env(source.token_env, owner=f"health source {source.product.slug} {source.kind}")
        if not token:
            raise _Unreadable("no_token", source.token_env)
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _get(url: str, headers: dict[str, str], timeout: float) -> Answer:
    try:
        return http_request("GET", url, headers=headers, timeout=timeout)
    except OutboundError as exc:
        facts = {"seconds": f"{timeout:g}"} if exc.code == "timeout" else {}
        raise _Unreadable(exc.code, str(exc), **facts) from exc


def _json(answer: Answer) -> Any:
    try:
        return answer.json()
    except (ValueError, UnicodeDecodeError):
        return None


def _http_error(answer: Answer, error_text: str) -> _Unreadable:
    detail = f"HTTP {answer.status}"
    if error_text:
        detail += f": {error_text[:300]}"
    return _Unreadable("http_error", detail, status=answer.status)


def _checked(metric: str, raw: Any) -> float:
    """The number a source gave for `metric`: NaN/Inf is `no_value` (a ratio over no
    traffic), a rate outside 0..1 or a negative latency `bad_response`."""
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise _Unreadable("bad_response", f"not a number: {str(raw)[:50]}") from exc
    if math.isnan(value) or math.isinf(value):
        raise _Unreadable("no_value", str(raw)[:20])
    if metric in RATES and not 0 <= value <= 1:
        raise _Unreadable(
            "bad_response", f"{value:g} is not a fraction between 0 and 1", value=value, reason="not_fraction"
        )
    if metric not in RATES and value < 0:
        raise _Unreadable("bad_response", f"{value:g} is negative", value=value, reason="negative")
    return value


# Prometheus -------------------------------------------------------------------------------


def _prometheus_value(answer: Answer, metric: str) -> float:
    """The one number of an instant query's answer (Prometheus HTTP API: `{"status":
    "success", "data": {"resultType": "vector" | "scalar", "result": …}}`). More than one
    series is refused, not summed or averaged: summing ratios gives nonsense, so the
    query must aggregate itself (`sum(…) / sum(…)`)."""
    body = _json(answer)
    if not answer.ok:
        error = body.get("error") if isinstance(body, dict) and body.get("status") == "error" else ""
        raise _http_error(answer, str(error or ""))
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        raise _Unreadable("bad_response", "the answer is not a Prometheus query result")
    if body.get("status") != "success":
        raise _Unreadable(
            "bad_response", f"status {str(body.get('status'))[:20]}: {str(body.get('error', ''))[:300]}"
        )
    kind, result = body["data"].get("resultType"), body["data"].get("result")
    if kind == "scalar" and isinstance(result, list) and len(result) == 2:
        return _checked(metric, result[1])
    if kind != "vector" or not isinstance(result, list):
        raise _Unreadable(
            "bad_response",
            f"an instant query gives a vector or a scalar, not {str(kind)[:20]}",
            reason="result_type",
        )
    if not result:
        raise _Unreadable("no_series", "the query returned no series")
    if len(result) > 1:
        raise _Unreadable(
            "bad_response",
            f"the query returned {len(result)} series; aggregate it to one",
            series=len(result),
            reason="series",
        )
    sample = result[0].get("value") if isinstance(result[0], dict) else None
    if not isinstance(sample, list) or len(sample) != 2:
        raise _Unreadable("bad_response", "the series has no value")
    return _checked(metric, sample[1])


def prometheus_read(source: HealthSource, release: Release, *, timeout: float | None = None) -> Reading:
    """One instant query per metric the source has (error_rate, p95_latency_ms, rate_429;
    other names are ignored), with the release filled in. When Prometheus does not answer
    at all (timeout, refused), the remaining metrics get the same problem without being
    asked: a source costs one timeout at most."""
    timeout = default_timeout() if timeout is None else timeout
    reading = Reading()
    queries = {m: q for m, q in (source.queries or {}).items() if m in PROMETHEUS_METRICS and q}
    if not queries:
        error = _Unreadable("not_configured", "no queries for error_rate, p95_latency_ms or rate_429")
        reading.problems.append(_problem(source, "", error))
        return reading
    base = source.url.rstrip("/") + "/api/v1/query?"
    down: _Unreadable | None = None
    for metric, template in queries.items():
        try:
            if down is not None:
                raise down
            headers = _headers(source)
            answer = _get(base + urlencode({"query": template_fill(template, release)}), headers, timeout)
            reading.values[metric] = _prometheus_value(answer, metric)
        except _Unreadable as error:
            if error.code in ("timeout", "unreachable", "no_token"):
                down = error
            reading.problems.append(_problem(source, metric, error))
    return reading


# Sentry -----------------------------------------------------------------------------------


def sentry_release_name(source: HealthSource, release: Release) -> str:
    return template_fill(source.release_template or "{product}@{version}+{build}", release)


def sentry_url(source: HealthSource, release: Release) -> str:
    """Sentry's "Retrieve Release Health Session Statistics": the release's crash-free
    sessions over the last 24 hours (`project` is the numeric project id)."""
    params = [
        ("project", source.project),
        ("field", SENTRY_FIELD),
        ("query", f'release:"{sentry_release_name(source, release)}"'),
        ("statsPeriod", "24h"),
        ("interval", "1h"),
    ]
    org = quote(source.org, safe="")
    return f"{source.url.rstrip('/')}/api/0/organizations/{org}/sessions/?{urlencode(params)}"


def _sentry_value(answer: Answer, release_name: str) -> float:
    """`{"groups": [{"by": {}, "totals": {"crash_free_rate(session)": 0.998}, …}], …}`;
    no group, or a null total (no sessions yet), is `no_series`."""
    body = _json(answer)
    if not answer.ok:
        detail = body.get("detail") if isinstance(body, dict) else ""
        raise _http_error(answer, str(detail or ""))
    if not isinstance(body, dict) or not isinstance(body.get("groups"), list):
        raise _Unreadable("bad_response", "the answer is not Sentry session statistics")
    groups = [g for g in body["groups"] if isinstance(g, dict)]
    total = (groups[0].get("totals") or {}).get(SENTRY_FIELD) if groups else None
    if total is None:
        raise _Unreadable(
            "no_series", f"Sentry has no sessions for release {release_name}", release=release_name
        )
    if len(groups) > 1:
        raise _Unreadable("bad_response", f"the answer has {len(groups)} groups, not one", reason="groups")
    return _checked(SENTRY_METRIC, total)


def sentry_read(source: HealthSource, release: Release, *, timeout: float | None = None) -> Reading:
    """The crash-free sessions of the release, named by the source's template."""
    timeout = default_timeout() if timeout is None else timeout
    reading = Reading()
    name = sentry_release_name(source, release)
    try:
        if not source.org or not source.project.isdigit():
            raise _Unreadable("not_configured", "Sentry needs the organisation and the numeric project id")
        answer = _get(sentry_url(source, release), _headers(source), timeout)
        reading.values[SENTRY_METRIC] = _sentry_value(answer, name)
    except _Unreadable as error:
        reading.problems.append(_problem(source, SENTRY_METRIC, error))
    return reading


READERS: dict[str, Callable[..., Reading]] = {
    SourceKind.PROMETHEUS: prometheus_read,
    SourceKind.SENTRY: sentry_read,
}


def source_read(source: HealthSource, release: Release, *, timeout: float | None = None) -> Reading:
    """Read `source` for `release`; a reader that fails unexpectedly gives the problem
    `error` (the sample says so) instead of an exception."""
    reader = READERS.get(source.kind)
    metrics = [SENTRY_METRIC] if source.kind == SourceKind.SENTRY else list(PROMETHEUS_METRICS)
    try:
        if reader is None:
            raise _Unreadable("not_configured", f"unknown kind {source.kind[:20]}")
        return reader(source, release, timeout=timeout)
    except _Unreadable as error:
        return Reading(problems=[_problem(source, "", error)])
    except Exception as exc:  # one source's bug never stops the others: it is a problem
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        asked = [m for m in metrics if m in (source.queries or {})] or metrics[:1]
        return Reading(
            problems=[{"metric": m, "code": "error", "detail": detail, "source": source.kind} for m in asked]
        )


# Words ------------------------------------------------------------------------------------


def _bad_response_text(problem: dict[str, Any], words: dict[str, Any]) -> str:
    reason = problem.get("reason")
    if reason == "series":
        return _(
            "The %(metric)s query to %(source)s returned %(series)s series: aggregate it to one "
            "(for example sum(…) / sum(…))."
        ) % {**words, "series": problem.get("series")}
    if reason == "not_fraction":
        return _("%(source)s gave %(value)s for %(metric)s, which is not a fraction between 0 and 1.") % words
    if reason == "negative":
        return _("%(source)s gave %(value)s for %(metric)s, which cannot be negative.") % words
    return _("%(source)s answered something that cannot be read (%(metric)s): %(detail)s") % words


def problem_text(problem: dict[str, Any]) -> str:
    """A sample's problem as the board and alerts say it, in the active language:
    "Prometheus did not answer within 5 s (error rate)." Codes: docs/rollout.md."""
    code = str(problem.get("code") or "")
    metric = str(problem.get("metric") or "")
    kind = str(
        problem.get("source") or (SourceKind.SENTRY if metric == SENTRY_METRIC else SourceKind.PROMETHEUS)
    )
    words = {
        "source": source_label(kind),
        "metric": metric_label(metric) if metric else "—",
        "detail": str(problem.get("detail") or ""),
        "seconds": problem.get("seconds") or f"{default_timeout():g}",
        "value": problem.get("value"),
        "release": problem.get("release") or "",
    }
    if code == "bad_response":
        return _bad_response_text(problem, words)
    if code == "no_series" and kind == SourceKind.SENTRY:
        return _("Sentry has no sessions for release %(release)s yet (%(metric)s).") % words
    if code == "not_configured" and kind == SourceKind.SENTRY:
        return _("Sentry is not set up: it needs the organisation and the numeric project id.")
    texts = {
        "timeout": _("%(source)s did not answer within %(seconds)s s (%(metric)s)."),
        "unreachable": _("%(source)s could not be reached (%(metric)s): %(detail)s"),
        "http_error": _("%(source)s answered with an error (%(metric)s): %(detail)s"),
        "no_series": _("%(source)s has no data for this release (%(metric)s): the query returned no series."),
        "no_value": _(
            "%(source)s returned %(detail)s for %(metric)s, not a number (often: no traffic yet, "
            "so a ratio divides by zero)."
        ),
        "no_token": _("The token for %(source)s is missing: the environment variable %(detail)s is empty."),
        "not_configured": _("%(source)s has no queries for error_rate, p95_latency_ms or rate_429."),
        "error": _("Reading %(source)s failed (%(metric)s): %(detail)s"),
    }
    text = texts.get(code, _("%(source)s could not be read (%(metric)s): %(detail)s"))
    return text % words
