"""Fault test: PostgreSQL stops and starts while 500 signed GitHub deliveries arrive.

The app runs under its production server (`scripts/serve web`: gunicorn + uvicorn
workers, DEBUG off, the connection pool on), started by this test on the test database.
Its DATABASE_URL points at a small TCP proxy that the test runs in front of the real
PostgreSQL (127.0.0.1:5432): "PostgreSQL stopped" is the proxy dropping every open
connection and refusing new ones (a reset), "started" is the proxy forwarding again.
Stopping the real server would also cut the test runner's own connection (and every
other session's on this machine); through the proxy, only the app under test sees the
outage, while the test keeps reading the database to check what was recorded.

What must hold (issue 11, item 7): every delivery refused during the outage is a 503
with Retry-After, answered within 3 s, and none is a 500; `/readyz` says 503 naming the
database within 1 s while it is down; `/healthz` answers 200 fast throughout; a page is
never a 500 (refused: the plain "temporarily unavailable" page); once
PostgreSQL is back, redelivering the refused ones (same X-GitHub-Delivery, as GitHub's
"Redeliver" does) loses nothing: each delivery is recorded exactly once and its result
applied. Bounded: about 40 s, and everything it starts is stopped at the end.

The parts (the breaker, the 503 answers, the streams), one at a time: test_outage_parts.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests/fixtures/ci-payloads/github/workflow_job.completed.success.with-organization.json"
SECRET = "outage-test-webhook-secret"
SECRET_ENV = "GONOGO_OUTAGE_TEST_GH_SECRET"
COMMIT = "3484a3fb816e0859fd6e1cea078d76385ff50625"  # the fixture's head_sha
DELIVERIES = 500
SENDERS = 16
SEND_SECONDS = 14.0  # the 500 are spread over this long
DOWN_AT, UP_AT = 4.0, 10.0  # PostgreSQL "stops" and "starts" at these seconds into the run

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresProxy:
    """A TCP proxy to PostgreSQL that can be "stopped" (open connections dropped, new
    ones reset at once, as a stopped server refuses them) and "started" again."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.closing = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closing:
            try:
                client, _addr = self.listener.accept()
            except OSError:
                return
            if not self.up:
                self._reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                self._reset(client)
                continue
            with self.lock:
                self.open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (source, target):
                self._drop(s)

    @staticmethod
    def _reset(s: socket.socket) -> None:
        with contextlib.suppress(OSError):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()

    def _drop(self, s: socket.socket) -> None:
        with self.lock:
            self.open.discard(s)
        with contextlib.suppress(OSError):
            s.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            s.close()

    def stop(self) -> None:
        self.up = False
        with self.lock:
            doomed = list(self.open)
        for s in doomed:
            self._drop(s)

    def start(self) -> None:
        self.up = True

    def close(self) -> None:
        self.closing = True
        self.stop()
        self.listener.close()


@dataclass
class Reply:
    status: int
    seconds: float
    retry_after: str | None
    content_type: str
    body: dict[str, Any]
    started: float  # seconds into the run


def request(
    port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Reply:
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(method, path, body=body or None, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        parsed = json.loads(data) if data else {}
    except ValueError:
        parsed = {"raw": data[:2000].decode(errors="replace")}
    return Reply(
        response.status,
        time.monotonic() - t0,
        response.getheader("Retry-After"),
        response.getheader("Content-Type") or "",
        parsed if isinstance(parsed, dict) else {},
        t0,
    )


@pytest.fixture
def world(postgres_tx: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from board.lifecycle import release_create
    from gates.models import Gate
    from integrations.models import Integration
    from releases.models import Product

    monkeypatch.setenv(SECRET_ENV, SECRET)
    product = Product.objects.create(slug="outage-app", name="Outage app", platform="ios")
    gate = Gate.objects.create(key="outage-lint", name="Lint", owner_role="backend_lead")
    release = release_create(product=product, version="1.0.0", build=1, commit=COMMIT, state="candidate")
    integration = Integration.objects.create(
        slug="outage-gh",
        provider="github",
        product=product,
        secret_env=SECRET_ENV,
        gate_patterns={"*lint*": gate.key},
    )
    return release, gate, integration


@pytest.fixture
def server(world: Any, redis_url: str, tmp_path: Path) -> Iterator[tuple[int, PostgresProxy]]:
    """`scripts/serve web` on the test database, through the proxy; stopped afterwards."""
    settings_dict = connection.settings_dict
    proxy = PostgresProxy((settings_dict["HOST"] or "127.0.0.1", int(settings_dict["PORT"] or 5432)))
    user = settings_dict["USER"] or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    port = free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "outage-test-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"postgres://{user}{password}@127.0.0.1:{proxy.port}/{settings_dict['NAME']}",
        "DB_POOL": "1",  # the test runner turns it off for itself; production has it on
        "REDIS_URL": redis_url,
        "GONOGO_BIND": f"127.0.0.1:{port}",
        "GONOGO_VAR_DIR": str(tmp_path / "var"),
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "ERROR",
        SECRET_ENV: SECRET,
    }
    for name in ("GONOGO_DB_POOL_TIMEOUT", "GONOGO_DB_CONNECT_TIMEOUT", "WEB_THREADS"):
        env.pop(name, None)  # the defaults are what is under test
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [str(ROOT / "scripts/serve"), "web"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "web.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the web server did not come up within a minute"
            with contextlib.suppress(OSError, http.client.HTTPException):
                if request(port, "GET", "/readyz").status == 200:
                    break
            time.sleep(0.3)
        yield port, proxy
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()
        proxy.close()
        import redis

        redis.Redis.from_url(redis_url).delete("celery", "gonogo:inbox:drain-queued")


def bodies() -> Iterator[tuple[str, bytes]]:
    template = json.loads(FIXTURE.read_text())
    for i in range(DELIVERIES):
        payload = json.loads(json.dumps(template))
        payload["workflow_job"].update(id=7_000_000 + i, name="lint", head_sha=COMMIT)
        yield str(uuid.uuid4()), json.dumps(payload).encode()


def deliver(port: int, delivery: str, body: bytes) -> Reply:
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/outage-test",
        "X-GitHub-Event": "workflow_job",
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": signature,
    }
    return request(port, "POST", "/api/v1/webhooks/github/outage-gh", body, headers)


def test_postgres_stopped_and_started_during_500_deliveries_loses_none(
    world: Any, server: tuple[int, PostgresProxy]
) -> None:
    from gates.models import GateResult
    from integrations.inbox import deliveries_drain
    from integrations.models import Delivery

    release, gate, integration = world
    port, proxy = server
    sent = list(bodies())
    replies: dict[str, Reply] = {}
    probes: list[tuple[str, Reply, bool]] = []  # (path, reply, down for all of it)
    start = time.monotonic()
    done = threading.Event()

    def send(index: int) -> None:
        delay = start + index * SEND_SECONDS / DELIVERIES - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        delivery, body = sent[index]
        replies[delivery] = deliver(port, delivery, body)

    def control() -> None:
        time.sleep(max(0.0, start + DOWN_AT - time.monotonic()))
        proxy.stop()
        time.sleep(max(0.0, start + UP_AT - time.monotonic()))
        proxy.start()

    def probe() -> None:
        while not done.is_set():
            for path in ("/healthz", "/readyz", "/accounts/login/"):
                was_down = not proxy.up
                reply = request(port, "GET", path)
                probes.append((path, reply, was_down and not proxy.up))
            time.sleep(0.2)

    controller = threading.Thread(target=control)
    prober = threading.Thread(target=probe)
    controller.start()
    prober.start()
    try:
        with ThreadPoolExecutor(SENDERS) as pool:
            list(pool.map(send, range(DELIVERIES)))
    finally:
        controller.join()
        done.set()
        prober.join()

    statuses = sorted({r.status for r in replies.values()})
    assert set(statuses) <= {202, 503}, statuses  # and so, no 500
    refused = [d for d, r in replies.items() if r.status == 503]
    assert len(refused) >= 50, f"only {len(refused)} refused: the outage did not happen"
    assert len(refused) < DELIVERIES - 100, "nothing got through before or after the outage"
    for delivery in refused:
        reply = replies[delivery]
        assert reply.retry_after == "30", reply
        assert reply.content_type == "application/problem+json", reply
        assert reply.body["code"] == "database_unavailable", reply.body
        assert "database is unavailable" in reply.body["detail"] and "again" in reply.body["detail"]
    slowest = max(replies[d].seconds for d in refused)
    print(
        f"{len(refused)} of {DELIVERIES} refused, slowest {slowest:.2f} s, median "
        f"{sorted(replies[d].seconds for d in refused)[len(refused) // 2] * 1000:.0f} ms"
    )
    assert slowest < 3.0, f"a refused delivery took {slowest:.2f} s"

    health = [r for path, r, _down in probes if path == "/healthz"]
    assert health and all(r.status == 200 for r in health), [r for r in health if r.status != 200]
    assert max(r.seconds for r in health) < 1.0, max(r.seconds for r in health)
    ready_down = [r for path, r, down in probes if path == "/readyz" and down]
    assert len(ready_down) >= 5, len(ready_down)
    for reply in ready_down:
        assert reply.status == 503 and reply.body["database"] != "ok" and reply.body["broker"] == "ok", reply
        assert reply.seconds < 1.0, reply.seconds

    pages = [(r, down) for path, r, down in probes if path == "/accounts/login/"]
    assert all(r.status in (200, 503) for r, _down in pages), [r.status for r, _down in pages]
    refused_pages = [r for r, down in pages if r.status == 503]
    assert refused_pages, "no page was refused while the database was down"
    for reply in refused_pages:  # the plain page: no 500, no stack trace
        assert reply.retry_after == "30" and reply.content_type.startswith("text/html"), reply
        assert "Temporarily unavailable" in reply.body["raw"], reply

    # PostgreSQL is back: redeliver what was refused (GitHub: "Redeliver"), until accepted.
    pending = list(refused)
    deadline = time.monotonic() + 20
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} redeliveries still refused after 20 s"
        with ThreadPoolExecutor(8) as pool:
            again = dict(
                zip(pending, pool.map(lambda d: deliver(port, d, dict(sent)[d]), pending), strict=True)
            )
        assert {r.status for r in again.values()} <= {200, 202, 503}, again
        pending = [d for d, r in again.items() if r.status == 503]
        if pending:
            time.sleep(0.5)

    while deliveries_drain():
        pass
    keys = [d for d, _body in sent]
    stored = list(Delivery.objects.filter(integration=integration).values_list("key", "state"))
    assert sorted(k for k, _s in stored) == sorted(keys)  # each exactly once, none lost
    assert {s for _k, s in stored} == {"applied"}
    run_ids = set(GateResult.objects.filter(release=release, gate=gate).values_list("run_id", flat=True))
    assert run_ids == {f"workflow_job/{7_000_000 + i}" for i in range(DELIVERIES)}
    assert time.monotonic() - start < 60
