"""Signed GitHub webhook deliveries under the production server, on PostgreSQL and Redis.

Run alone:      bench/run.sh webhooks        (or: .venv/bin/python bench/webhooks.py)
Part of:        make bench                   (bench/run.sh runs it with --no-append)

What it measures, in one run (about 2 minutes on 2 cores):

1. Acknowledgement throughput at saturation: POST /api/v1/webhooks/github/<slug> with
   X-Hub-Signature-256, X-GitHub-Event: workflow_job and a unique X-GitHub-Delivery each
   (and a unique job id in each body), from CONNECTIONS keep-alive connections, closed loop.
   The floor is /bench/webhook-floor/ (gonogo/urls.py, GONOGO_BENCH=1 only): the same HMAC
   check over the same body and one INSERT into `bench_floor`, behind the same middleware.
   Warm-up first, then floor, ours, floor, ours (SATURATION_SECONDS each); the ratio is
   ours/floor over the means. Target: ≥ 0.5.
2. Acknowledgement latency at a steady STEADY_RATE deliveries/s for STEADY_SECONDS, open loop
   (each request is due at t0 + i/rate; its latency counts from when it was due, so a slow
   server cannot slow the sender down; a request unanswered after 10 s, as long as GitHub
   waits, counts as refused).
   Target: p99 ≤ 50 ms. The floor is paced the same way for 5 s first. About 2 % of these are
   redeliveries (same X-GitHub-Delivery: must answer 200 `duplicate`) or a second delivery
   of a job already sent (new delivery id, same job and status: must not record twice).
3. Gate results applied per second by the Celery worker: the steady run's deliveries
   (STEADY_RATE * STEADY_SECONDS, distinct job ids mapped to 4 CI gates on 2 releases) wait
   in Redis while no worker runs; then the web server stops and `scripts/serve worker` (the
   Procfile's worker, WORKER_CONCURRENCY default 2, no beat) drains them for at most
   DRAIN_TIMEOUT s. Rate = gate results recorded between the first and the last processed
   delivery. Target: ≥ 300/s.
4. Lost or doubled: every acknowledged delivery has exactly one Delivery row (by delivery id);
   every processed one gave its distinct (commit, job, status) exactly once; floor rows =
   floor acknowledgements. Requests refused or unanswered are reported, not counted as lost.

Each run also notes the CPU milliseconds per delivery of the web workers (or the worker),
PostgreSQL and Redis (from /proc: steadier than wall-clock rates on a shared machine), and
the CPU other processes used meanwhile (a test suite running alongside shows up there).
Knobs: BENCH_WEBHOOK_CONNECTIONS [32], _SECONDS [8], _WARMUP_SECONDS [6], _RATE [200], _STEADY_SECONDS [15],
_DRAIN_TIMEOUT [60]; WEB_CONCURRENCY and WORKER_CONCURRENCY as scripts/serve reads them.

The web server is started the way `scripts/serve web` starts it (gunicorn + uvicorn workers,
WEB_CONCURRENCY default 2, access log on), bound to a free port, with DEBUG off. During the
acknowledgement runs no worker runs: the deliveries pile up in the inbox and in the broker.
The saturation runs' deliveries (a product of their own) are purged from the broker before
the steady run, so that the drain measures exactly the steady run's backlog; they stay
`received` in the inbox until the clean-up.

Environment (defaults in brackets; bench/run.sh sets the same): DATABASE_URL
[postgres://postgres@127.0.0.1:5432/gonogo_bench, created and migrated when missing],
REDIS_URL [redis://127.0.0.1:6379/14: its `celery` queue is purged], GONOGO_BENCH_WEBHOOK_SECRET
[a fixed bench secret]. Everything it creates carries a per-run slug `whb<time>` and is deleted
at the end, except the audit events the worker appends (the audit table is append-only) and
the deliveries' Redis pub/sub notices (not stored). Prints a markdown section and appends it
to bench/results/latest.md (not with --no-append). Logs: bench/results/webhooks-{web,worker}.log.

Its parts: bench/webhooks_setup.py (the environment, the knobs, the bench's data) and
bench/webhooks_load.py (the HTTP client, the senders, the processes and their CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import time
import uuid
from collections import Counter
from typing import Any

# webhooks_setup, imported first by either, sets the environment.
from webhooks_load import Load, Neighbours, Sent, cpu_split, free_port, percentile, start, stop, wait_until_up
from webhooks_setup import (
    APPLIED_TARGET,
    CONNECTIONS,
    DRAIN_TIMEOUT,
    FIXTURE_SHA,
    FLOOR_STEADY_SECONDS,
    FLOOR_TARGET_RATIO,
    JOB_NAMES,
    OTHER_SHA,
    P99_TARGET_MS,
    REQUEST_TIMEOUT,
    RESULTS,
    SATURATION_SECONDS,
    STEADY_RATE,
    STEADY_SECONDS,
    WARMUP_SECONDS,
    Bodies,
    database_ensure,
    signed_request,
    world_create,
    world_delete,
)

# The run ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-append", action="store_true", help="print only (bench/run.sh tees it)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)

    neighbours = Neighbours()
    neighbours.start()
    database_ensure()
    import django

    django.setup()

    from django.db import connection
    from django.db.models import Count, Max, Min

    from gates.models import GateResult
    from gonogo.celery import app as celery_app
    from integrations.models import Delivery
    from releases.models import Product

    tag = f"whb{int(time.time())}"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body bytea NOT NULL)"
        )
        cursor.execute("TRUNCATE bench_floor")

    world = world_create(tag)
    product, flood, releases, ours = world.product, world.flood, world.releases, world.ours
    floor_path = "/bench/webhook-floor/"
    flood_path = f"/api/v1/webhooks/github/{tag}-sat"
    ours_path = f"/api/v1/webhooks/github/{ours.slug}"

    port = free_port()
    web_concurrency = os.environ.get("WEB_CONCURRENCY", "2")
    web = start("web", RESULTS / "webhooks-web.log", GONOGO_BIND=f"127.0.0.1:{port}")
    worker: subprocess.Popen[bytes] | None = None
    try:
        wait_until_up(port, web)
        bodies = Bodies()
        load = Load(port, bodies)
        body_size = len(bodies.body(load.job_id()))

        # The steady run's deliveries: distinct jobs over 4 gates on 2 releases, 10 % failed;
        # every 100th a redelivery (same delivery id), every 100th + 50 a new delivery of a
        # job already sent (same job and status).
        steady: list[tuple[str, bytes]] = []
        result_of: dict[str, tuple[str, str, str]] = {}  # delivery id → (commit, job, status)
        jobs: list[tuple[int, str, str, str]] = []
        names = list(JOB_NAMES.values())
        for i in range(STEADY_RATE * STEADY_SECONDS):
            if i % 100 == 99 and steady:
                steady.append(steady[i - 37])
                continue
            if i % 100 == 49 and jobs:
                job, name, sha, conclusion = jobs[i // 2]
            else:
                job = load.job_id()
                name, sha = names[i % 4], (FIXTURE_SHA, OTHER_SHA)[(i // 4) % 2]
                conclusion = "failure" if i % 10 == 3 else "success"
                jobs.append((job, name, sha, conclusion))
            delivery = str(uuid.uuid4())
            steady.append(
                (
                    delivery,
                    signed_request(ours_path, load.host, bodies.body(job, name, sha, conclusion), delivery),
                )
            )
            result_of[delivery] = (
                sha,
                f"workflow_job/{job}",
                "passed" if conclusion == "success" else "failed",
            )
        floor_steady = []
        for _i in range(STEADY_RATE * FLOOR_STEADY_SECONDS):
            delivery = str(uuid.uuid4())
            floor_steady.append(
                (delivery, signed_request(floor_path, load.host, bodies.body(load.job_id()), delivery))
            )

        def set_aside(target: Product) -> None:
            Delivery.objects.filter(product=target, state="received").update(state="ignored")
            from django.conf import settings as django_settings

            if django_settings.REDIS_URL:
                import redis

                redis.Redis.from_url(django_settings.REDIS_URL).delete("gonogo:inbox:drain-queued")

        async def cpu_noted(run: Any) -> Sent:
            before = cpu_split(web.pid)
            sent: Sent = await run
            sent.server_cpu = tuple(b - a for a, b in zip(before, cpu_split(web.pid), strict=True))  # type: ignore[assignment]
            return sent

        async def acknowledge() -> tuple[list[Sent], int, Sent, Sent]:
            runs = [
                await cpu_noted(load.saturate("warm-up floor", floor_path, WARMUP_SECONDS)),
                await cpu_noted(load.saturate("warm-up ours", flood_path, WARMUP_SECONDS)),
            ]
            for _round in range(2):
                runs.append(await cpu_noted(load.saturate("floor", floor_path, SATURATION_SECONDS)))
                runs.append(await cpu_noted(load.saturate("ours", flood_path, SATURATION_SECONDS)))
            purged = await asyncio.to_thread(celery_app.control.purge)
            # Their rows stay for the lost/doubled count, but are not the drain's backlog.
            await asyncio.to_thread(set_aside, flood)
            await asyncio.sleep(1.0)
            floor_paced = await cpu_noted(load.steady("floor steady", floor_steady, STEADY_RATE))
            await asyncio.sleep(1.0)
            return runs, purged, floor_paced, await cpu_noted(load.steady("steady", steady, STEADY_RATE))

        try:
            import uvloop

            runs, purged, floor_paced, paced = uvloop.run(acknowledge())
        except ImportError:
            runs, purged, floor_paced, paced = asyncio.run(acknowledge())
        stop(web)

        # Drain: the worker alone.
        backlog = Delivery.objects.filter(product=product)
        queued = backlog.filter(state="received").count()
        worker_started = time.perf_counter()
        worker = start("worker", RESULTS / "webhooks-worker.log")
        deadline = worker_started + DRAIN_TIMEOUT
        left, first_cpu, first_left = queued, cpu_split(worker.pid), queued
        while time.perf_counter() < deadline and left:
            time.sleep(0.25)
            left = backlog.filter(state="received").count()
            if first_left == queued and left < queued:  # the worker is up: CPU counts from here
                first_cpu, first_left = cpu_split(worker.pid), left
            if worker.poll() is not None:
                break
        worker_wall = time.perf_counter() - worker_started
        last_cpu = cpu_split(worker.pid)
        worker_cpu_ms = [
            (b - a) / max(1, first_left - left) * 1000 for a, b in zip(first_cpu, last_cpu, strict=True)
        ]
        stop(worker)
        worker = None

        # Counting.
        span = backlog.exclude(processed_at=None).aggregate(
            first=Min("processed_at"), last=Max("processed_at")
        )
        results = GateResult.objects.filter(release__in=releases)
        recorded = results.count()
        drain_span = (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0
        applied_rate = recorded / drain_span if drain_span else 0.0
        states = Counter(
            dict(backlog.order_by().values_list("state").annotate(n=Count("id")).values_list("state", "n"))
        )
        got_results = {
            (sha, run, status)
            for sha, run, status in results.values_list("release__commit_sha", "run_id", "status")
        }
        doubled_results = (
            results.order_by()
            .values("release", "gate", "run_id", "run_attempt", "status")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count()
        )

        def inbox_check(sent: list[Sent], target: Product) -> tuple[int, int, int]:
            """(lost, doubled, stored without a 2xx) for deliveries acknowledged on `target`."""
            acked: dict[str, int] = {}
            for s in sent:
                acked.update(s.acked)
            keys = Counter(Delivery.objects.filter(product=target).values_list("key", flat=True))
            lost = sum(1 for k in acked if k not in keys)
            doubled = sum(n - 1 for n in keys.values() if n > 1)
            unacked = sum(1 for k in keys if k not in acked)
            return lost, doubled, unacked

        ours_runs = [r for r in runs if "ours" in r.label]
        refusals: Counter[int] = Counter()
        for r in [*ours_runs, paced]:
            refusals.update({code: n for code, n in r.statuses.items() if 400 <= code < 500})
        if refusals:
            # A 401 or 404 costs nothing: a bench of refusals measures nothing.
            raise SystemExit(
                f"bench: our receiver refused deliveries {dict(refusals)}; check the bench integration"
            )
        floor_runs = [*(r for r in runs if "floor" in r.label), floor_paced]
        lost_sat, doubled_sat, unacked_sat = inbox_check(ours_runs, flood)
        lost_steady, doubled_steady, unacked_steady = inbox_check([paced], product)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_floor")
            floor_rows = cursor.fetchone()[0]
        floor_acked = sum(len(r.acked) for r in floor_runs)
        floor_unanswered = sum(r.statuses[0] + r.statuses[-1] for r in floor_runs)
        redelivered = Counter(paced.codes[i] for i in range(len(steady)) if i % 100 == 99)
        # Every processed delivery (acknowledged, or stored after the sender gave up on it) must
        # have given its (commit, job, status) exactly once; nothing else may appear.
        processed = set(backlog.exclude(state="received").values_list("key", flat=True))
        expected_results = {result_of[d] for d in processed if d in result_of}
        lost_results = len(expected_results - got_results)
        extra_results = len(got_results - set(result_of.values()))
        lost = lost_sat + lost_steady + lost_results + max(0, floor_acked - floor_rows)
        refused = sum(
            n for r in [*runs, floor_paced, paced] for code, n in r.statuses.items() if not 200 <= code < 300
        )
        doubled = (
            doubled_sat
            + doubled_steady
            + doubled_results
            + extra_results
            + max(0, floor_rows - floor_acked - floor_unanswered)
        )

        # Report.
        measured = [r for r in runs if not r.label.startswith("warm")]
        floor_rate = statistics.mean(r.rate for r in measured if r.label == "floor")
        ours_rate = statistics.mean(r.rate for r in measured if r.label == "ours")
        ratio = ours_rate / floor_rate if floor_rate else 0.0
        lat = [x * 1000 for x in paced.latencies]
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        floor_lat = [x * 1000 for x in floor_paced.latencies]

        def mark(ok: bool) -> str:
            return "met" if ok else "MISSED"

        lines = [
            f"## Webhooks: signed GitHub deliveries (gunicorn + {web_concurrency} uvicorn workers, "
            f"PostgreSQL, Redis broker, DEBUG off) — {time.strftime('%Y-%m-%dT%H:%MZ', time.gmtime())}, "
            f"{os.cpu_count()} cores",
            f"workflow_job bodies of {body_size} bytes, HMAC-SHA256 signed, a new delivery id and job id each; "
            f"{CONNECTIONS} keep-alive connections; no worker running during the acknowledgement runs.",
            "",
            "| run | deliveries | seconds | per second | p50 ms | p99 ms | statuses | CPU ms per delivery: "
            "web / PostgreSQL / Redis | client CPU |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in [*runs, floor_paced, paced]:
            ms = [x * 1000 for x in r.latencies]
            lines.append(
                f"| {r.label} | {len(r.latencies)} | {r.elapsed:.1f} | {r.rate:.0f} | {percentile(ms, 50):.1f} | "
                f"{percentile(ms, 99):.1f} | {dict(sorted(r.statuses.items()))} | "
                f"{r.per_delivery_ms(0):.1f} / {r.per_delivery_ms(1):.1f} / {r.per_delivery_ms(2):.2f} | "
                f"{r.cpu / r.elapsed:.0%} |"
            )
        lines += [
            "",
            f"floor (HMAC + one INSERT):      {floor_rate:.0f} deliveries/s (mean of 2)",
            f"ours (/api/v1/webhooks/github): {ours_rate:.0f} deliveries/s (mean of 2)",
            f"ratio ours/floor: {ratio:.3f} (target ≥ {FLOOR_TARGET_RATIO}: {mark(ratio >= FLOOR_TARGET_RATIO)})",
            f"at a steady {STEADY_RATE}/s for {STEADY_SECONDS} s (open loop): p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
            f"max {max(lat):.1f} ms (target p99 ≤ {P99_TARGET_MS:.0f} ms: {mark(p99 <= P99_TARGET_MS)}); "
            f"sender at most {paced.late * 1000:.1f} ms behind schedule; the floor at the same rate for "
            f"{FLOOR_STEADY_SECONDS} s: p50 {percentile(floor_lat, 50):.1f} ms, p99 {percentile(floor_lat, 99):.1f} ms",
            f"worker drain ({os.environ.get('WORKER_CONCURRENCY', '2')} processes): {queued} queued deliveries → "
            f"{recorded} gate results in {drain_span:.1f} s from the first to the last processed: "
            f"{applied_rate:.0f} gate results/s (target ≥ {APPLIED_TARGET:.0f}: {mark(applied_rate >= APPLIED_TARGET)}); "
            f"{worker_wall:.1f} s from worker start until none was left; CPU per delivery once started: "
            f"worker {worker_cpu_ms[0]:.1f} ms, PostgreSQL {worker_cpu_ms[1]:.1f} ms, Redis {worker_cpu_ms[2]:.2f} ms",
            f"inbox after the drain: {dict(sorted(states.items()))}; broker messages purged before the steady run "
            f"(saturation runs' deliveries): {purged}",
            f"lost: {lost}, doubled: {doubled} — deliveries acknowledged without a row: {lost_sat + lost_steady}, "
            f"delivery ids stored twice: {doubled_sat + doubled_steady}; stored though the sender saw no 2xx "
            f"(answered after the sender's {REQUEST_TIMEOUT:.0f} s, which GitHub shows as failed, or 5xx after "
            f"commit; a redelivery would be a duplicate): "
            f"{unacked_sat + unacked_steady}; redeliveries (same delivery id) answered "
            f"{dict(sorted(redelivered.items(), key=str))} (200 = duplicate); gate results expected (distinct job "
            f"and status among the processed deliveries) {len(expected_results)}, recorded {recorded} (missing {lost_results}, "
            f"unexpected {extra_results}, same run and status twice {doubled_results}); "
            f"floor rows {floor_rows} for {floor_acked} acknowledged and {floor_unanswered} unanswered",
            f"not acknowledged (no 2xx within {REQUEST_TIMEOUT:.0f} s; a sender would have to redeliver; not "
            f"counted as lost): {refused}; stored but still unprocessed when the drain stopped "
            f"({DRAIN_TIMEOUT:.0f} s): {left}",
            neighbours.report(),
        ]
        report = "\n".join(lines)
        print(report, flush=True)
        if not args.no_append:
            with (RESULTS / "latest.md").open("a") as out:
                out.write("\n" + report + "\n")
    finally:
        stop(web)
        if worker is not None:
            stop(worker)
        celery_app.control.purge()  # what the drain left queued points at deliveries deleted now
        world_delete(tag)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_floor")


if __name__ == "__main__":
    main()
