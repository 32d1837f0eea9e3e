"""Cost against a release's history (issue 16): the board page and one result POST, through
the whole stack (middleware, views, templates), with 3 results on record and with 6,000,
on PostgreSQL and Redis.

Run alone:      bench/run.sh history         (or: .venv/bin/python bench/history.py)
Part of:        make bench                   (bench/run.sh runs it with --no-append)

For H = 3 and H = BENCH_HISTORY_LARGE [6000] results of one release (two gates, CI runs
passing and failing, as retries and nightly jobs leave them), the median of
BENCH_HISTORY_ROUNDS [15] GETs of the board page by its PM (each after a new result, so
every one renders afresh: no panel cache helps) and of 15 POSTs of one new result to
/api/v1/results (with a token, as CI sends it) is timed and its queries counted, in
process (Django's test client: no network in the figure). Reported: ms and queries at
each size and the ratios large/small (issue 16's target: time ≤ 1.2, queries equal). A
ratio far above 1 means something reads the whole history.

Environment as bench/webhooks_setup.py sets it (DATABASE_URL [postgres://…/gonogo_bench,
created and migrated when missing]). Everything the bench makes carries a per-run slug
`his<time>` and is deleted at the end (audit events stay: append-only). Prints a markdown
section and appends it to bench/results/latest.md (not with --no-append).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from datetime import timedelta
from typing import Any

# webhooks_setup, imported first, sets the environment and sys.path.
from webhooks_setup import RESULTS, database_ensure

LARGE = int(os.environ.get("BENCH_HISTORY_LARGE", "6000"))
ROUNDS = int(os.environ.get("BENCH_HISTORY_ROUNDS", "15"))
COMMIT = "a" * 40


def world_create(tag: str, history: int) -> Any:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import RoleMembership
    from gates.models import Gate, GateResult
    from gates.states import states_rebuild
    from integrations.tokens import token_issue
    from releases.models import Product, Release

    now = timezone.now()
    product = Product.objects.create(slug=tag, name=f"History bench {history}", platform="backend")
    gates = []
    for key in ("unit", "e2e"):
        gate = Gate.objects.create(key=f"{tag}-{key}", name=f"{key} ({tag})", owner_role="backend_lead")
        gate.products.add(product)
        gates.append(gate)
    release = Release.objects.create(
        product=product,
        version="1.0.0",
        build_number=1,
        commit_sha=COMMIT,
        state="candidate",
        state_changed_at=now,
        created_at=now,
    )
    start = now - timedelta(days=30)
    GateResult.objects.bulk_create(
        [
            GateResult(
                release=release,
                gate=gates[i % 2],
                commit_sha=COMMIT,
                status="failed" if i % 7 == 3 else "passed",
                source="api",
                summary=f"run {i}",
                run_id=f"h-{i}",
                observed_at=start + timedelta(seconds=i * 10),
                received_at=start + timedelta(seconds=i * 10),
            )
            for i in range(history)
        ],
        batch_size=1000,
    )
    states_rebuild([release.pk])  # bulk-created around the writer: fold them once
    pm = get_user_model().objects.create_user(username=f"{tag}-pm", password=None)
    RoleMembership.objects.create(user=pm, role="pm", product=product)
    _token, raw = token_issue(name=f"{tag} CI", product=product, scopes=["results"])
    return release, gates, pm, raw


def world_delete(tag: str) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from gates.models import Gate, GateResult
    from integrations.models import ApiToken
    from releases.models import Product, Release

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL gonogo.maintenance = 'on'")
        GateResult.objects.filter(release__product__slug__startswith=tag).delete()
        Release.objects.filter(product__slug__startswith=tag).delete()
        Gate.objects.filter(key__startswith=tag).delete()
        ApiToken.objects.filter(product__slug__startswith=tag).delete()
        Product.objects.filter(slug__startswith=tag).delete()
        get_user_model().objects.filter(username__startswith=tag).delete()


def _timed(work: Any) -> tuple[float, int]:
    """Median ms over ROUNDS runs of `work(i)`, which returns the request it timed: its
    seconds and its queries (those of the last run are reported)."""
    times, queries = [], 0
    for i in range(ROUNDS):
        seconds, queries = work(i)
        times.append(seconds * 1000)
    return statistics.median(times), queries


def _request(send: Any) -> tuple[float, int, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        started = time.perf_counter()
        response = send()
        seconds = time.perf_counter() - started
    return seconds, len(ctx.captured_queries), response


def measure(tag: str, history: int) -> dict[str, Any]:
    import json

    from django.test import Client
    from django.urls import reverse

    from gates.recording import ResultEntry, gate_results_record

    release, gates, pm, token = world_create(tag, history)
    board_url = reverse("board:release_board", kwargs={"product": tag, "version": release.version})
    browser, ci = Client(HTTP_HOST="127.0.0.1"), Client(HTTP_HOST="127.0.0.1")
    browser.force_login(pm)

    def board(i: int) -> tuple[float, int]:
        # A change first (untimed), so the page is rendered afresh, not served from a cache.
        gate_results_record(
            entries=[ResultEntry(release=release, gate=gates[1], status="passed", run_id=f"b-{tag}-{i}")]
        )
        seconds, queries, response = _request(lambda: browser.get(board_url))
        assert response.status_code == 200, response.status_code
        return seconds, queries

    def post(i: int) -> tuple[float, int]:
        body = {
            "product": tag,
            "version": "1.0.0",
            "gate": gates[0].key,
            "status": "passed",
            "run_id": f"p-{i}",
        }
        seconds, queries, response = _request(
            lambda: ci.post(
                "/api/v1/results",
                json.dumps(body),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
        )
        assert response.status_code == 202, response.content
        return seconds, queries

    board_ms, board_q = _timed(board)
    post_ms, post_q = _timed(post)
    return {
        "history": history,
        "board_ms": board_ms,
        "board_q": board_q,
        "post_ms": post_ms,
        "post_q": post_q,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-append", action="store_true", help="print only (bench/run.sh tees it)")
    args = parser.parse_args()
    database_ensure()
    import django

    django.setup()
    base = f"his{int(time.time())}"
    try:
        measure(f"{base}w", 3)  # warm-up: imports, connections, caches
        small = measure(f"{base}s", 3)
        large = measure(f"{base}l", LARGE)
    finally:
        world_delete(base)
    lines = [
        f"## Cost against history: 3 vs {LARGE} results of one release (median of {ROUNDS})",
        "| history | board page GET (ms) | its queries | result POST (ms) | its queries |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {r['history']} | {r['board_ms']:.1f} | {r['board_q']} | {r['post_ms']:.1f} | {r['post_q']} |"
            for r in (small, large)
        ),
        f"board time {LARGE}/3: {large['board_ms'] / small['board_ms']:.2f} (target ≤ 1.2); "
        f"queries {large['board_q']} vs {small['board_q']}",
        f"result POST time {LARGE}/3: {large['post_ms'] / small['post_ms']:.2f} (target ≤ 1.2); "
        f"queries {large['post_q']} vs {small['post_q']}",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_append:
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (RESULTS / "latest.md").open("a") as out:
            out.write(text + "\n\n")


if __name__ == "__main__":
    main()
