"""A stalled CI server (issue 12): cut off at the deadline, and never in the way of a
webhook, since polling runs on a queue and worker of its own."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from django.conf import settings

from integrations.models import Integration, PollCursor
from integrations.poll_session import PollSession
from integrations.polling import releases_poll

from .ci_payloads import SHA, setup, status_of
from .senders import job, post_github

pytestmark = pytest.mark.django_db


class Trickle:
    """A server that answers one byte every `every` seconds, for ever."""

    def __init__(self, every: float = 0.3) -> None:
        self.every = every
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}"

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn: socket.socket) -> None:
        reply = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
            + b" " * 100000
        )
        try:
            for byte in reply:
                if self.stop.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(self.every)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


def test_a_trickling_server_is_cut_off_at_the_deadline(caplog: pytest.LogCaptureFixture) -> None:
    server = Trickle()
    try:
        s = setup(server, "github")  # type: ignore[arg-type]
        started = time.monotonic()
        releases_poll(session=PollSession(deadline=1.5))
        took = time.monotonic() - started
    finally:
        server.close()
    # Two URLs would take two deadlines; the first one holds the integration instead.
    assert took < 3.0, took
    cursors = list(PollCursor.objects.filter(integration=s.integration, checked_at__isnull=False))
    assert len(cursors) == 1 and cursors[0].last_error.startswith("no full answer within 1.5 s")
    assert cursors[0].holds_all and cursors[0].not_before is not None


@pytest.mark.django_db(transaction=True)
def test_a_webhook_is_applied_at_once_while_a_poll_is_stuck(
    client: Any, monkeypatch: pytest.MonkeyPatch, django_capture_on_commit_callbacks: Any
) -> None:
    """The poll holds no lock while it waits for the stalled server, and it runs on a
    queue of its own: a delivery is applied in its usual time meanwhile."""
    server = Trickle()
    s = setup(server, "github")  # type: ignore[arg-type]
    monkeypatch.setenv("GONOGO_TEST_GITHUB_SECRET", "It's a Secret to Everybody")
    Integration.objects.create(
        slug="gh",
        provider="github",
        product=s.product,
        secret_env="GONOGO_TEST_GITHUB_SECRET",
        gate_patterns={"e2e*": s.gate.key},
    )

    def poll() -> None:
        from django.db import connection

        try:
            releases_poll(session=PollSession(deadline=4))
        finally:
            connection.close()

    stuck = threading.Thread(target=poll)
    try:
        stuck.start()
        time.sleep(0.5)
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = post_github(
                client, "workflow_job", job("e2e", "completed", "failure", at="2026-11-27T08:00:00Z", sha=SHA)
            )
        from integrations.inbox import deliveries_drain

        deliveries_drain()
        applied_in = time.monotonic() - started
        assert response.status_code == 202
        assert status_of(s) == "failed"
        assert applied_in < 1.5, applied_in
        assert stuck.is_alive()  # the poll was still waiting all along
    finally:
        stuck.join(10)
        server.close()


def test_polling_runs_on_its_own_queue_and_worker() -> None:
    from pathlib import Path

    assert settings.CELERY_TASK_ROUTES["integrations.poll_due"]["queue"] == "polling"
    root = Path(__file__).resolve().parents[2]
    procfile = dict(line.split(": ", 1) for line in (root / "Procfile").read_text().splitlines() if line)
    assert procfile["poller"].strip() == "scripts/serve poller"
    serve = (root / "scripts" / "serve").read_text()
    assert "-Q polling" in serve and "-Q celery" in serve
    # A stale beat message is dropped rather than piling up behind a slow run.
    assert (
        settings.CELERY_BEAT_SCHEDULE["poll-ci"]["options"]["expires"]
        <= settings.GONOGO_POLL_INTERVAL_SECONDS
    )
