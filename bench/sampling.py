"""One health tick (operations/sampling.py) for many products rolling out, against a fake
Prometheus on this machine, on PostgreSQL.

Run alone:      bench/run.sh sampling        (or: .venv/bin/python bench/sampling.py)
Part of:        make bench                   (bench/run.sh runs it with --no-append)

For N = 5 and N = 50 products, each with a release rolling out and a Prometheus source of
three queries (error_rate, p95_latency_ms, rate_429), one `health_tick` is timed and its
database queries counted. The fake Prometheus (tests/operations/monitoring_servers.py,
answering as the Prometheus HTTP API documents) waits BENCH_SAMPLING_LATENCY_MS [50] before
each answer, as a real one over a network would: the tick reads in a pool of 8 threads, so
50 products cost about 50 x 3 x latency / 8, not 50 x 3 x latency. Reported: seconds per
tick, queries per tick and per product, and the ratios 50/5 of queries per product
(target ≤ 1.0: constant in the number of products) and of time per product.

Environment as bench/webhooks_setup.py sets it (DATABASE_URL [postgres://…/gonogo_bench,
created and migrated when missing]). Other sources in the database are made not due for
the measured ticks and put back after. Everything the bench makes carries a per-run slug
`smp<time>` and is deleted at the end, except the audit events (append-only). Prints a
markdown section and appends it to bench/results/latest.md (not with --no-append).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

# webhooks_setup, imported first, sets the environment and sys.path.
from webhooks_setup import RESULTS, database_ensure

LATENCY = float(os.environ.get("BENCH_SAMPLING_LATENCY_MS", "50")) / 1000
SIZES = (5, 50)
QUERIES = {
    "error_rate": 'sum(rate(http_requests_total{code=~"5..",version="{version}"}[5m])) '
    '/ sum(rate(http_requests_total{version="{version}"}[5m]))',
    "p95_latency_ms": "histogram_quantile(0.95, sum by (le) "
    '(rate(http_request_duration_seconds_bucket{version="{version}"}[5m]))) * 1000',
    "rate_429": 'sum(rate(http_requests_total{code="429",version="{version}"}[5m])) '
    "/ sum(rate(http_requests_total[5m]))",
}


def world_create(tag: str, n: int, url: str) -> None:
    from django.utils import timezone

    from operations.models import HealthSource
    from releases.models import Product, Release

    now = timezone.now()
    for i in range(n):
        product = Product.objects.create(slug=f"{tag}-{i}", name=f"Sampling bench {i}", platform="backend")
        Release.objects.create(
            product=product,
            version="4.2.0",
            build_number=1,
            state="rolling_out",
            state_changed_at=now,
            created_at=now,
            rollout_percent=5,
            rollout_stage_started_at=now,
        )
        HealthSource.objects.create(
            product=product, kind="prometheus", url=url, token_env="GONOGO_BENCH_PROM_TOKEN", queries=QUERIES
        )


def world_delete(tag: str) -> None:
    from django.db import connection, transaction

    from operations.models import HealthSample, HealthSource
    from releases.models import Product, Release

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL gonogo.maintenance = 'on'")
        HealthSample.objects.filter(release__product__slug__startswith=tag).delete()
        HealthSource.objects.filter(product__slug__startswith=tag).delete()
        Release.objects.filter(product__slug__startswith=tag).delete()
        Product.objects.filter(slug__startswith=tag).delete()


def measure(tag: str, n: int, url: str) -> dict[str, Any]:
    """One tick over `n` fresh products; the database's other sources are not due."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from operations.models import HealthSource
    from operations.sampling import health_tick

    world_create(tag, n, url)
    now = timezone.now()
    others = HealthSource.objects.exclude(product__slug__startswith=tag)
    kept = dict(others.values_list("pk", "last_sampled_at"))
    others.update(last_sampled_at=now)
    try:
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            report = health_tick(now)
            seconds = time.perf_counter() - started
    finally:
        for pk, at in kept.items():
            HealthSource.objects.filter(pk=pk).update(last_sampled_at=at)
    if (report.sampled, report.inconclusive, report.failed) != (n, 0, 0):
        raise SystemExit(f"the tick over {n} products reported {report.as_dict()}, not {n} samples in bounds")
    return {"n": n, "seconds": seconds, "queries": len(ctx.captured_queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-append", action="store_true", help="print only (bench/run.sh tees it)")
    args = parser.parse_args()
    os.environ["GONOGO_BENCH_PROM_TOKEN"] = "bench-prometheus-token"
    database_ensure()
    import django

    django.setup()

    from tests.operations.monitoring_servers import FakePrometheus, Reply, vector

    prometheus = FakePrometheus(token="bench-prometheus-token").start()
    prometheus.rules = {
        'code=~"5..': Reply(200, vector("0.002"), delay=LATENCY),
        "histogram_quantile": Reply(200, vector("240"), delay=LATENCY),
        'code="429"': Reply(200, vector("0.0005"), delay=LATENCY),
    }
    base = f"smp{int(time.time())}"
    results = []
    try:
        measure(f"{base}w", 1, prometheus.url)  # warm-up: imports, connections, caches
        for n in SIZES:
            results.append(measure(f"{base}n{n}", n, prometheus.url))
    finally:
        world_delete(base)
        prometheus.stop()

    small, large = results
    per_small, per_large = small["queries"] / small["n"], large["queries"] / large["n"]
    t_small, t_large = small["seconds"] / small["n"], large["seconds"] / large["n"]
    serial = large["n"] * len(QUERIES) * LATENCY
    lines = [
        f"## Health tick: {large['n']} products rolling out, Prometheus answering in {LATENCY * 1000:g} ms",
        "| products | tick (s) | queries | queries per product | ms per product |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {r['n']} | {r['seconds']:.2f} | {r['queries']} | {r['queries'] / r['n']:.1f} "
            f"| {1000 * r['seconds'] / r['n']:.1f} |"
            for r in results
        ),
        f"queries per product, {large['n']}/{small['n']}: {per_large / per_small:.3f} (target ≤ 1.000: constant)",
        f"time per product, {large['n']}/{small['n']}: {t_large / t_small:.3f}",
        f"the same reads one after another would take {serial:.1f} s "
        f"({large['n']} x {len(QUERIES)} queries x {LATENCY * 1000:g} ms)",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_append:
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (RESULTS / "latest.md").open("a") as out:
            out.write("\n" + text + "\n")
    if per_large > per_small * 1.001:
        raise SystemExit("queries per product grew with the number of products")


if __name__ == "__main__":
    main()
