"""Where a webhook delivery's time goes, in-process (no server, one thread).

    .venv/bin/python bench/webhooks_profile.py [ack|worker|all] [N]

Same environment as bench/webhooks.py (PostgreSQL, Redis, DEBUG off).

ack: times N requests each through Django's test client (the whole middleware stack; the
WSGI handler, and the ASGI handler through AsyncClient) for the empty view, the floor
(/bench/webhook-floor/) and ours (/api/v1/webhooks/github/<slug>); counts the SQL statements
and Redis commands per request; times each step of `webhook_receive` on its own; cProfile.

worker: times `delivery_process` (the Celery task's work) on N stored deliveries (4 CI gates
on 2 releases, as bench/webhooks.py); counts its SQL statements and Redis commands; cProfile.

Everything it creates is deleted (audit events excepted: append-only) and the Celery queue
it filled is purged.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import webhooks_setup as wb  # sets the environment

PART = sys.argv[1] if len(sys.argv) > 1 else "all"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 400
os.environ["ALLOWED_HOSTS"] += ",testserver"  # AsyncClient's host


def per_call(fn: Callable[[], object], n: int = N) -> float:
    """Mean microseconds per call of fn, after a few warm-up calls."""
    for _ in range(20):
        fn()
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def profile_print(profile: cProfile.Profile, title: str, top: int = 40) -> None:
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(order).print_stats(top)
        print(f"\n# cProfile of {title} ({order})\n{out.getvalue()}")


def redis_commands(fn: Callable[[], object]) -> dict[str, int]:
    """Redis commands fn sends (from INFO commandstats; includes the two INFO calls)."""
    import redis

    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    before = {k: v["calls"] for k, v in r.info("commandstats").items()}
    fn()
    after = {k: v["calls"] for k, v in r.info("commandstats").items()}
    return {k[len("cmdstat_") :]: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def sql_of(fn: Callable[[], object]) -> list[dict[str, str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fn()
    return list(queries.captured_queries)


def ack_profile(world: wb.World) -> None:
    from django.db import connection, transaction
    from django.test import AsyncClient, Client

    from api.auth import json_object
    from integrations.inbox import delivery_receive
    from integrations.models import Integration
    from integrations.providers import github
    from integrations.tasks import delivery_process_task

    bodies = wb.Bodies()
    job = [int(time.time()) * 1000]
    client = Client(HTTP_HOST="127.0.0.1")
    integration = world.ours
    ours_path = f"/api/v1/webhooks/github/{integration.slug}"
    floor_path = "/bench/webhook-floor/"

    def signed() -> tuple[bytes, dict[str, str]]:
        job[0] += 1
        body = bodies.body(job[0])
        sig = "sha256=" + wb.hmac.new(wb.SECRET, body, wb.hashlib.sha256).hexdigest()
        return body, {
            "X-Hub-Signature-256": sig,
            "X-GitHub-Event": "workflow_job",
            "X-GitHub-Delivery": str(uuid.uuid4()),
            "User-Agent": "GitHub-Hookshot/bench",
        }

    def post(path: str) -> Callable[[], object]:
        def go() -> object:
            body, headers = signed()
            reply = client.post(path, body, content_type="application/json", headers=headers)
            assert reply.status_code in (200, 202), (reply.status_code, reply.content[:300])
            return reply

        return go

    print(f"# Webhook acknowledgement, in-process, one thread, mean of {N} requests")
    rows = {
        "WSGI empty view (GET /bench/empty/)": per_call(lambda: client.get("/bench/empty/")),
        "WSGI floor (HMAC + 1 INSERT)": per_call(post(floor_path)),
        "WSGI ours (webhook_receive)": per_call(post(ours_path)),
    }
    aclient = AsyncClient()

    async def aget_many(n: int) -> float:
        for _ in range(20):
            await aclient.get("/bench/empty/")
        start = time.perf_counter()
        for _ in range(n):
            await aclient.get("/bench/empty/")
        return (time.perf_counter() - start) / n * 1e6

    async def apost_many(path: str, n: int) -> float:
        async def one() -> None:
            body, headers = signed()
            reply = await aclient.post(path, body, content_type="application/json", headers=headers)
            assert reply.status_code in (200, 202), reply.status_code

        for _ in range(20):
            await one()
        start = time.perf_counter()
        for _ in range(n):
            await one()
        return (time.perf_counter() - start) / n * 1e6

    rows["ASGI empty view (AsyncClient)"] = asyncio.run(aget_many(N))
    rows["ASGI floor (AsyncClient)"] = asyncio.run(apost_many(floor_path, N))
    rows["ASGI ours (AsyncClient)"] = asyncio.run(apost_many(ours_path, N))
    for label, us in rows.items():
        print(f"{label:45s} {us:8.0f} µs")

    for label, path in (("floor", floor_path), ("ours", ours_path)):
        queries = sql_of(post(path))
        print(f"\n{label}: {len(queries)} SQL statements")
        for q in queries:
            print(f"  {q['time']}s  {q['sql'][:160]}")
    print(f"\nours: Redis commands per request: {redis_commands(post(ours_path))}")

    body, headers = signed()

    def lookup() -> object:
        return (
            Integration.objects.select_related("product")
            .filter(slug=integration.slug, provider="github", active=True)
            .first()
        )

    def floor_insert() -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor (body) VALUES (%s)", [body])

    def receive(publish: bool) -> Callable[[], object]:
        def go() -> object:
            with transaction.atomic():
                return delivery_receive(
                    source="github",
                    integration=integration,
                    product=world.flood,
                    body=body,
                    event="workflow_job",
                    key=str(uuid.uuid4()),
                    headers={"X-GitHub-Event": "workflow_job", "Content-Type": "application/json"},
                    state="received" if publish else "ignored",
                )

        return go

    steps = {
        "Integration lookup (SELECT … JOIN product)": per_call(lookup),
        "HMAC check (github.authenticate)": per_call(lambda: github.authenticate(integration, headers, body)),
        f"JSON parse of the {len(body)}-byte body": per_call(lambda: json_object(body)),
        "floor's INSERT (autocommit)": per_call(floor_insert),
        "delivery_receive in atomic, no publish": per_call(receive(False)),
        "delivery_receive in atomic + publish on commit": per_call(receive(True)),
        "Celery .delay() alone (Redis publish)": per_call(lambda: delivery_process_task.delay(0)),
    }
    print()
    for label, us in steps.items():
        print(f"{label:50s} {us:8.0f} µs")

    go = post(ours_path)
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(N):
        go()
    profile.disable()
    profile_print(profile, f"{N} deliveries to ours, WSGI test client")

    profile = cProfile.Profile()
    profile.enable()
    asyncio.run(apost_many(ours_path, N))
    profile.disable()
    profile_print(profile, f"{N} deliveries to ours, ASGI AsyncClient", top=30)


def worker_profile(world: wb.World) -> None:
    from django.utils import timezone

    from gates.models import GateResult
    from integrations.inbox import delivery_process
    from integrations.models import Delivery

    bodies = wb.Bodies()
    names = list(wb.JOB_NAMES.values())
    job = int(time.time()) * 1000
    ids: list[int] = []
    for i in range(N + 40):
        job += 1
        sha = (wb.FIXTURE_SHA, wb.OTHER_SHA)[(i // 4) % 2]
        body = bodies.body(job, names[i % 4], sha, "failure" if i % 10 == 3 else "success")
        ids.append(
            Delivery.objects.create(
                source="github",
                integration=world.ours,
                product=world.product,
                event="workflow_job",
                key=str(uuid.uuid4()),
                headers={"X-GitHub-Event": "workflow_job"},
                body=body,
                received_at=timezone.now(),
            ).pk
        )
    todo = iter(ids)

    def one() -> Any:
        return delivery_process(delivery_id=next(todo))

    for _ in range(10):
        one()
    queries = sql_of(one)
    print(f"\n# delivery_process: {len(queries)} SQL statements for one delivery")
    for q in queries:
        print(f"  {q['time']}s  {q['sql'][:200]}")
    print(f"\ndelivery_process: Redis commands: {redis_commands(one)}")
    for _ in range(17):
        one()
    start = time.perf_counter()
    half = N // 2
    for _ in range(half):
        one()
    us = (time.perf_counter() - start) / half * 1e6
    print(f"\ndelivery_process, in-process, one thread: {us:.0f} µs per delivery ({1e6 / us:.0f}/s)")
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(N - half):
        one()
    profile.disable()
    profile_print(profile, f"{N - half} delivery_process calls")
    states = dict(
        Delivery.objects.filter(pk__in=ids)
        .values_list("state")
        .order_by()
        .distinct()
        .values_list("state", "state")
    )
    print(
        f"states: {sorted(states)}; gate results: {GateResult.objects.filter(release__in=world.releases).count()}"
    )


def main() -> None:
    wb.database_ensure()
    import django

    django.setup()
    from django.db import connection

    from gonogo.celery import app as celery_app

    tag = f"whp{int(time.time())}"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, body bytea NOT NULL)"
        )
    world = wb.world_create(tag)
    try:
        if PART in ("ack", "all"):
            ack_profile(world)
        if PART in ("worker", "all"):
            worker_profile(world)
    finally:
        wb.world_delete(tag)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_floor")
        celery_app.control.purge()


if __name__ == "__main__":
    main()
