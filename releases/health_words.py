"""Rollout health in words, the same on the board (operations.health) and in every alert
(notifications.messages): the metrics, their units, the sources, and a breach as a
sentence. Here, below both, so the two never word it differently."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.when import when_text

# metric → (label, is a minimum, Product field of its bound, shown as a percentage)
METRICS: dict[str, tuple[Any, bool, str, bool]] = {
    "error_rate": (gettext_lazy("error rate"), False, "health_error_rate", True),
    "p95_latency_ms": (gettext_lazy("p95 latency"), False, "health_p95_latency_ms", False),
    "rate_429": (gettext_lazy("HTTP 429 rate"), False, "health_rate_429", True),
    "crash_free_sessions": (gettext_lazy("crash-free sessions"), True, "health_crash_free_sessions", True),
}
SOURCE_LABELS = {
    "push": gettext_lazy("pushed by monitoring"),
    "prometheus": gettext_lazy("Prometheus"),
    "sentry": gettext_lazy("Sentry"),
}


def metric_label(metric: str) -> str:
    return str(METRICS[metric][0]) if metric in METRICS else metric


def value_text(metric: str, value: Any) -> str:
    """0.09 as "9.0 %" for a rate, 912 as "912 ms" for latency, in the active language;
    "—" for anything that is not a number."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "—"
    if metric in METRICS and METRICS[metric][3]:
        percent = value * 100
        return f"{number_format(percent, 2 if percent >= 99 else 1)} %"
    return f"{number_format(value, 0)} ms"


def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source, source))


def breach_text(breach: dict[str, Any], *, source: str = "", at: datetime | str | None = None) -> str:
    """ "error rate 9.0 % is over the bound 1.0 % — Prometheus, 07:35", in the active language."""
    metric = str(breach.get("metric", ""))
    words = {
        "metric": metric_label(metric),
        "value": value_text(metric, breach.get("value")),
        "bound": value_text(metric, breach.get("bound")),
    }
    if breach.get("minimum"):
        text = _("%(metric)s %(value)s is under the bound %(bound)s") % words
    else:
        text = _("%(metric)s %(value)s is over the bound %(bound)s") % words
    where = [source_label(source)] if source else []
    if at:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        where.append(when_text(moment, "time"))
    return f"{text} — {', '.join(where)}" if where else text
