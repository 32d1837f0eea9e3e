"""The webhook bench's setting: the environment (as bench/run.sh exports it), the knobs,
the bench database, the signed request bodies, and the products, gates, releases and
integrations a run makes and deletes. Importing it sets the environment."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests/fixtures/ci-payloads/github/workflow_job.completed.success.with-organization.json"
RESULTS = ROOT / "bench/results"

CONNECTIONS = int(os.environ.get("BENCH_WEBHOOK_CONNECTIONS", "32"))
# The first seconds open connections and fill caches: not yet steady.
WARMUP_SECONDS = float(os.environ.get("BENCH_WEBHOOK_WARMUP_SECONDS", "6"))
SATURATION_SECONDS = float(os.environ.get("BENCH_WEBHOOK_SECONDS", "8"))
STEADY_RATE = int(os.environ.get("BENCH_WEBHOOK_RATE", "200"))
STEADY_SECONDS = int(os.environ.get("BENCH_WEBHOOK_STEADY_SECONDS", "15"))
FLOOR_STEADY_SECONDS = 5
DRAIN_TIMEOUT = float(os.environ.get("BENCH_WEBHOOK_DRAIN_TIMEOUT", "60"))
REQUEST_TIMEOUT = 10.0  # seconds, as GitHub waits; then the request counts as refused (status -1)
FLOOR_TARGET_RATIO = 0.5
P99_TARGET_MS = 50.0
APPLIED_TARGET = 300.0

# The production environment, as bench/run.sh exports it (kept when already set).
for name, value in {
    "DEBUG": "0",
    "SECRET_KEY": "bench-only-secret-key",
    "GONOGO_BENCH": "1",
    "ALLOWED_HOSTS": "127.0.0.1",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/gonogo_bench",
    "REDIS_URL": "redis://127.0.0.1:6379/14",
    "GONOGO_VAR_DIR": str(ROOT / "var/bench"),
    "GONOGO_BENCH_WEBHOOK_SECRET": "bench-webhook-secret-do-not-use",
    "DJANGO_SETTINGS_MODULE": "gonogo.settings",
}.items():
    os.environ.setdefault(name, value)
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
SECRET = os.environ["GONOGO_BENCH_WEBHOOK_SECRET"].encode()
SECRET_ENV = "GONOGO_BENCH_WEBHOOK_SECRET"
sys.path.insert(0, str(ROOT))


def database_ensure() -> None:
    """Create the bench database when it does not exist, and migrate it."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    if not cfg["ENGINE"].endswith("postgresql"):
        sys.exit("bench/webhooks.py measures PostgreSQL: set DATABASE_URL to a postgres:// URL")
    params = {"host": cfg["HOST"] or "127.0.0.1", "port": cfg["PORT"] or 5432, "user": cfg["USER"]}
    if cfg.get("PASSWORD"):
        params["password"] = cfg["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True)


# Request bodies ------------------------------------------------------------------------------

JOB_NAMES = {"lint*": "linters", "pact*": "pact-verify", "e2e*": "e2e-ios", "smoke*": "smoke-tests"}
FIXTURE_SHA = "3484a3fb816e0859fd6e1cea078d76385ff50625"
OTHER_SHA = "9c1d1c0ffee0ddba11c0ffee0ddba11c0ffee00d"


class Bodies:
    """workflow_job.completed bodies from the fixture, with a job id (and name, commit and
    conclusion) of our choosing: a template split around the id, so making one is cheap."""

    def __init__(self) -> None:
        self.fixture = json.loads(FIXTURE.read_text())
        self.templates: dict[tuple[str, str, str], tuple[bytes, bytes]] = {}

    def body(
        self, job_id: int, name: str = "linters", sha: str = FIXTURE_SHA, conclusion: str = "success"
    ) -> bytes:
        key = (name, sha, conclusion)
        if key not in self.templates:
            payload = json.loads(json.dumps(self.fixture))
            job = payload["workflow_job"]
            job.update(id=-424242, name=name, head_sha=sha, conclusion=conclusion)
            job["steps"] = [dict(s, conclusion=conclusion) for s in job.get("steps") or []]
            text = json.dumps(payload).encode()
            assert text.count(b"-424242") == 1
            before, after = text.split(b"-424242")
            self.templates[key] = (before, after)
        before, after = self.templates[key]
        return before + str(job_id).encode() + after


def signed_request(path: str, host: str, body: bytes, delivery: str) -> bytes:
    signature = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: GitHub-Hookshot/bench\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"X-GitHub-Event: workflow_job\r\nX-GitHub-Delivery: {delivery}\r\nX-GitHub-Hook-ID: 4242\r\n"
        f"X-Hub-Signature-256: sha256={signature}\r\n\r\n"
    ).encode() + body


# The data -------------------------------------------------------------------------------------


@dataclass
class World:
    product: Any  # its deliveries are applied: 2 releases, 4 CI gates
    flood: Any  # the saturation runs' product: acknowledged only, purged from the broker
    releases: list[Any]
    ours: Any  # the integration of `product`
    patterns: dict[str, str]


def world_create(tag: str) -> World:
    from accounts.models import Role
    from board.lifecycle import release_create
    from gates.models import Gate
    from integrations.models import Integration
    from releases.models import Product

    product = Product.objects.create(slug=tag, name=f"Webhook bench {tag}", platform="backend")
    flood = Product.objects.create(
        slug=f"{tag}-sat", name=f"Webhook bench {tag} (saturation)", platform="backend"
    )
    patterns: dict[str, str] = {}
    for i, pattern in enumerate(JOB_NAMES):
        gate = Gate.objects.create(
            key=f"{tag}-{pattern.rstrip('*')}",
            name=f"{tag} {pattern}",
            owner_role=Role.BACKEND_LEAD,
            position=90 + i,
        )
        gate.products.add(product)
        patterns[pattern] = gate.key
    releases = [
        release_create(
            product=product, version="1.0.0", build=1, commit=FIXTURE_SHA, branch="r1", state="candidate"
        ),
        release_create(
            product=product, version="1.1.0", build=2, commit=OTHER_SHA, branch="r2", state="candidate"
        ),
    ]
    ours = Integration.objects.create(
        slug=tag, provider="github", product=product, secret_env=SECRET_ENV, gate_patterns=patterns
    )
    Integration.objects.create(
        slug=f"{tag}-sat", provider="github", product=flood, secret_env=SECRET_ENV, gate_patterns=patterns
    )
    return World(product, flood, releases, ours, patterns)


def world_delete(tag: str) -> None:
    """Delete what world_create made and what came of it (audit events stay: append-only).
    Gate results are evidence and refuse DELETE (audit migration 0003) except in the
    owner's maintenance session; the bench runs as the owner on its own database."""
    from django.db import connection, transaction

    from gates.models import Gate, GateResult
    from integrations.models import Delivery, Integration
    from releases.models import Product, Release

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL gonogo.maintenance = 'on'")
        GateResult.objects.filter(release__product__slug__startswith=tag).delete()
        Delivery.objects.filter(product__slug__startswith=tag).delete()
        Release.objects.filter(product__slug__startswith=tag).delete()
        Integration.objects.filter(slug__startswith=tag).delete()
        Gate.objects.filter(key__startswith=tag).delete()
        Product.objects.filter(slug__startswith=tag).delete()
