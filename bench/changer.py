"""A change to one release every BENCH_CHANGE_EVERY [0.25] seconds for SECONDS (argv[1]):
a new CI result through the one writer, as CI's would arrive (bench/run.sh runs it while
it measures a panel's re-fetch, so the panel cache is emptied four times a second —
the most the live stream repaints — and the re-fetch pays for its renders)."""

from __future__ import annotations

import os
import sys
import time
import uuid

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gonogo.settings")
django.setup()

from gates.models import Evaluation, Phase  # noqa: E402
from gates.recording import ResultEntry, gate_results_record  # noqa: E402
from gates.selectors import gates_for_product  # noqa: E402
from releases.models import Release  # noqa: E402

EVERY = float(os.environ.get("BENCH_CHANGE_EVERY", "0.25"))

release = Release.objects.select_related("product").get(product__slug="ios-app", version="2.4.0")
gate = next(
    g
    for g in gates_for_product(release.product)
    if g.evaluation == Evaluation.CI and g.phase == Phase.PRE_RELEASE
)
tag = uuid.uuid4().hex[:8]
end = time.monotonic() + float(sys.argv[1])
changes = 0
while time.monotonic() < end:
    gate_results_record(
        entries=[ResultEntry(release=release, gate=gate, status="passed", run_id=f"chg-{tag}-{changes}")]
    )
    changes += 1
    time.sleep(EVERY)
print(changes)
