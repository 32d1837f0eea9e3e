"""Cost against a release's history (issue 16): the board and one result POST's writer,
with 3 results on record and with 6,000, on PostgreSQL.

Run alone:      bench/run.sh history         (or: .venv/bin/python bench/history.py)
Part of:        make bench                   (bench/run.sh runs it with --no-append)

For H = 3 and H = BENCH_HISTORY_LARGE [6000] results of one release (two gates, CI runs
passing and failing, as retries and nightly jobs leave them), the median of
BENCH_HISTORY_ROUNDS [15] reads of the whole board (`board.selectors.release_board`) and
of 15 recordings of one new result (`gates.recording.gate_results_record`, what the
results API and every webhook call) is timed and its queries counted. Reported: ms and
queries at each size and the ratios large/small (issue 16's target: time ≤ 1.2, queries
equal). A ratio far above 1 means something reads the whole history.

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
    from django.utils import timezone

    from gates.models import Gate, GateResult
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
    return release, gates


def world_delete(tag: str) -> None:
    from django.db import connection, transaction

    from gates.models import Gate, GateResult
    from releases.models import Product, Release

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL gonogo.maintenance = 'on'")
        GateResult.objects.filter(release__product__slug__startswith=tag).delete()
        Release.objects.filter(product__slug__startswith=tag).delete()
        Gate.objects.filter(key__startswith=tag).delete()
        Product.objects.filter(slug__startswith=tag).delete()


def _timed(work: Any) -> tuple[float, int]:
    """Median ms over ROUNDS runs of `work(i)`, and the queries of the last."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times = []
    queries = 0
    for i in range(ROUNDS):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            work(i)
            times.append((time.perf_counter() - started) * 1000)
        queries = len(ctx.captured_queries)
    return statistics.median(times), queries


def measure(tag: str, history: int) -> dict[str, Any]:
    from django.db import transaction

    from board.selectors import release_board
    from gates.recording import ResultEntry, gate_results_record
    from releases.models import Release

    release, gates = world_create(tag, history)

    def board(_i: int) -> None:
        release_board(Release.objects.select_related("product").get(pk=release.pk))

    def post(i: int) -> None:
        with transaction.atomic():
            gate_results_record(
                entries=[
                    ResultEntry(release=release, gate=gates[0], status="passed", run_id=f"new-{tag}-{i}")
                ]
            )

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
        "| history | board (ms) | board queries | result POST writer (ms) | its queries |",
        "| --- | --- | --- | --- | --- |",
        *(
            f"| {r['history']} | {r['board_ms']:.1f} | {r['board_q']} | {r['post_ms']:.1f} | {r['post_q']} |"
            for r in (small, large)
        ),
        f"board time {LARGE}/3: {large['board_ms'] / small['board_ms']:.2f} (target ≤ 1.2); "
        f"queries {large['board_q']} vs {small['board_q']}",
        f"result writer time {LARGE}/3: {large['post_ms'] / small['post_ms']:.2f} (target ≤ 1.2); "
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
