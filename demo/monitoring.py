"""A stand-in Prometheus for `make run` (DEBUG only): answers the demo products' health
queries in the shape of Prometheus's instant-query API, within the default bounds, so a
new user sees a rollout sampled, soaked and advanced without a monitoring server. An
error spike for one version is switched on and off with `manage.py demo_spike`
(docs/running.md "Trying the rollout")."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

# metric → its answer within bounds, and during a spike
VALUES = {
    "error_rate": ("0.002", "0.09"),
    "p95_latency_ms": ("310", "1450"),
    "rate_429": ("0.0004", "0.0004"),
}


def _spike_file(version: str) -> Path:
    # A file, not a cache: `make run`'s processes (web, worker, beat) share only VAR_DIR.
    safe = "".join(c for c in version if c.isalnum() or c in ".-_")[:64]
    return Path(settings.VAR_DIR) / f"demo-spike-{safe}"


def spike_set(version: str, on: bool) -> None:
    """Make the stand-in answer over the bounds for `version`, or stop."""
    path = _spike_file(version)
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    else:
        path.unlink(missing_ok=True)


@require_GET
def prometheus_query(request: HttpRequest) -> JsonResponse:
    query = request.GET.get("query", "")
    metric = next((m for m in VALUES if f"gonogo_demo_{m}" in query), None)
    if metric is None:
        return JsonResponse(
            {"status": "error", "errorType": "bad_data", "error": "unknown demo query"}, status=400
        )
    version = query.split('version="', 1)[1].split('"', 1)[0] if 'version="' in query else ""
    value = VALUES[metric][1 if version and _spike_file(version).exists() else 0]
    return JsonResponse(
        {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [{"metric": {"version": version}, "value": [time.time(), value]}],
            },
        }
    )


def demo_queries() -> dict[str, str]:
    """The seed's PromQL for the stand-in, with {version} filled in by the sampler."""
    return {metric: f'gonogo_demo_{metric}{{version="{{version}}"}}' for metric in VALUES}
