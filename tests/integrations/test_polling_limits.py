"""Polling that cannot be fooled (issue 12): every page read, a stalled server cut off at
the deadline, only the configured host trusted, abbreviated commits matched, rate limits
shared by a credential. Local servers answer as GitHub, GitLab and Jenkins document."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from gates.models import GateResult
from integrations.models import Integration, PollCursor
from integrations.polling import PollSession, link_next, releases_poll

from .test_polling import (
    CHECKS,
    CI,
    PROJECT,
    SHA,
    STATUS,
    Reply,
    Seen,
    check_run,
    check_runs,
    combined,
    commit_status,
    gitlab_job,
    jenkins_build,
    jenkins_job,
    later,
    setup,
    status_of,
)

pytestmark = pytest.mark.django_db


class PagedCI(CI):
    """Like CI, but a reply may be queued for one page: `reply(path + "?page=2", …)`."""

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        page = seen.query.get("page", ["1"])[0]
        paged = f"{seen.path}?page={page}"
        if paged in self.replies:
            original = seen.path
            seen.path = paged
            try:
                return super()._answer(seen)
            finally:
                seen.path = original
        return super()._answer(seen)


@pytest.fixture
def paged() -> Iterator[Callable[..., PagedCI]]:
    servers: list[PagedCI] = []

    def start(**kw: Any) -> PagedCI:
        servers.append(PagedCI(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def runs(first_id: int, count: int, conclusion: str = "success") -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        run = check_run("completed", conclusion, run_id=first_id + i)
        run["name"] = f"e2e-ios-{first_id + i}"
        out.append(run)
    return out


def github_pages(
    server: PagedCI, path: str, key: str, pages: list[list[dict[str, Any]]], **extra: Any
) -> None:
    total = sum(len(p) for p in pages)
    for number, items in enumerate(pages, start=1):
        headers = {}
        if number < len(pages):
            headers["Link"] = (
                f'<{server.url}{path}?per_page=100&page={number + 1}>; rel="next", '
                f'<{server.url}{path}?per_page=100&page={len(pages)}>; rel="last"'
            )
        body = {"total_count": total, key: items, **extra}
        server.reply(f"{path}?page={number}", Reply(body=body, headers=headers))


# Every page ----------------------------------------------------------------------------


def test_a_failed_check_run_on_page_two_fails_the_gate(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    github_pages(server, CHECKS, "check_runs", [runs(1, 100), runs(101, 49) + runs(150, 1, "failure")])
    server.reply(STATUS, combined())

    releases_poll()

    assert status_of(s) == "failed"
    assert GateResult.objects.filter(gate=s.gate).count() == 150
    pages = [seen.query.get("page", ["1"])[0] for seen in server.seen if seen.path == CHECKS]
    assert pages == ["1", "2"]


def test_a_failed_commit_status_on_page_two_fails_the_gate(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    server.reply(CHECKS, check_runs())
    passing = [commit_status(f"e2e/{i}", "success", status_id=i) for i in range(30)]
    github_pages(
        server, STATUS, "statuses", [passing, [commit_status("e2e/late", "failure", status_id=99)]], sha=SHA
    )

    releases_poll()

    assert status_of(s) == "failed"
    assert server.seen[1].query["per_page"] == ["100"]  # not GitHub's default of 30


def test_a_gitlab_failure_on_page_two_fails_the_gate(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "gitlab", slug="android-app", repository="acme/android-app")
    server.reply(f"{PROJECT}/pipelines", Reply(body=[{"id": 77, "sha": SHA, "ref": "release/2.4"}]))
    jobs = f"{PROJECT}/pipelines/77/jobs"
    first = [gitlab_job(500 + i, f"e2e-android-{i}", "success") for i in range(100)]
    server.reply(f"{jobs}?page=1", Reply(body=first, headers={"X-Next-Page": "2", "X-Page": "1"}))
    server.reply(
        f"{jobs}?page=2",
        Reply(
            body=[gitlab_job(700, "e2e-android-late", "failed")], headers={"X-Next-Page": "", "X-Page": "2"}
        ),
    )

    releases_poll()

    assert status_of(s) == "failed"
    second = [seen for seen in server.seen if seen.path == jobs][1]
    assert second.query["page"] == ["2"] and second.query["include_retried"] == ["false"]


def test_a_gate_whose_only_job_is_on_page_two_is_seen(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github", patterns={"smoke-only": "ios-app-e2e"})
    other = runs(1, 100)
    for run in other:
        run["name"] = "lint"
    only = check_run("completed", "success", run_id=500)
    only["name"] = "smoke-only"
    github_pages(server, CHECKS, "check_runs", [other, [only]])
    server.reply(STATUS, combined())

    releases_poll()

    assert status_of(s) == "passed"
    assert releases_poll() == 0  # decided: no longer polled


def test_an_incomplete_listing_never_records_a_pass(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    github_pages(server, CHECKS, "check_runs", [runs(1, 100), runs(101, 1, "failure")])
    server.reply(f"{CHECKS}?page=2", Reply(502, {"message": "Bad Gateway"}))
    server.reply(STATUS, combined())

    releases_poll()

    assert status_of(s) is None  # page one's 100 passes were not taken
    assert not GateResult.objects.filter(gate=s.gate, status="passed").exists()
    first = PollCursor.objects.get(integration=s.integration, url=f"{server.url}{CHECKS}?per_page=100")
    assert first.etag == ""  # read again next time, not hidden by a 304

    github_pages(server, CHECKS, "check_runs", [runs(1, 100), runs(101, 1, "failure")])
    releases_poll(session=later(120))  # past the back-off
    assert status_of(s) == "failed"


def test_each_page_keeps_its_own_etag(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    github_pages(server, CHECKS, "check_runs", [runs(1, 100), [check_run("in_progress", None, run_id=300)]])
    server.reply(STATUS, combined())

    releases_poll()
    assert status_of(s) == "running"
    before = len(server.seen)
    releases_poll()  # nothing changed: both pages 304, page two still asked
    again = [seen for seen in server.seen[before:] if seen.path == CHECKS]
    assert [seen.query.get("page", ["1"])[0] for seen in again] == ["1", "2"]
    assert all("if-none-match" in seen.headers for seen in again)

    github_pages(
        server, CHECKS, "check_runs", [runs(1, 100), [check_run("completed", "failure", run_id=300)]]
    )
    releases_poll()  # page one: 304; page two changed
    assert status_of(s) == "failed"


def test_next_page_links() -> None:
    from email.message import Message

    github = Message()
    github["Link"] = (
        '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"'
    )
    assert link_next(github, "https://api.github.com/x") == "https://api.github.com/x?page=2"
    gitlab = Message()
    gitlab["X-Next-Page"] = "3"
    assert link_next(gitlab, "https://gl.example/jobs?per_page=100&page=2") == (
        "https://gl.example/jobs?per_page=100&page=3"
    )
    assert link_next(Message(), "https://x.example/") == ""


# A stalled server ----------------------------------------------------------------------


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
    from .test_webhooks import job, post_github

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
        from integrations.services import deliveries_drain

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


def test_the_same_url_is_never_asked_twice_at_once(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined())
    PollCursor.objects.create(
        integration=s.integration,
        url=f"{server.url}{CHECKS}?per_page=100",
        leased_until=timezone.now() + timedelta(seconds=30),
    )

    releases_poll()

    assert CHECKS not in server.paths()  # another run is asking it right now
    assert status_of(s) is None


# Only the configured host --------------------------------------------------------------


def test_a_same_host_301_is_followed_with_credentials_and_logged(
    paged: Callable[..., PagedCI], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    server = paged()
    s = setup(server, "github", repository="acme/old-name")
    s.integration.api_token_env = "GONOGO_TEST_GITHUB_TOKEN"
    s.integration.save()
    monkeypatch.setenv("GONOGO_TEST_GITHUB_TOKEN", "ghp_secret")
    old_checks = CHECKS.replace("ios-app", "old-name")
    server.reply(old_checks, Reply(301, headers={"Location": f"{server.url}{CHECKS}?per_page=100"}))
    server.reply(
        STATUS.replace("ios-app", "old-name"), Reply(301, headers={"Location": f"{server.url}{STATUS}"})
    )
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined())

    with caplog.at_level(logging.WARNING, logger="integrations.polling"):
        releases_poll()

    assert status_of(s) == "passed"
    moved = next(seen for seen in server.seen if seen.path == CHECKS)
    assert moved.headers["authorization"] == "Bearer ghp_secret"
    assert "moved permanently" in caplog.text and "update integration" in caplog.text


def test_a_next_page_on_another_host_is_not_followed(paged: Callable[..., PagedCI]) -> None:
    elsewhere = paged()
    elsewhere.reply(CHECKS, check_runs(*runs(200, 1, "success")))
    server = paged()
    s = setup(server, "github")
    server.reply(
        f"{CHECKS}?page=1",
        Reply(
            body={"total_count": 2, "check_runs": [check_run("completed", "failure", run_id=1)]},
            headers={"Link": f'<{elsewhere.url}{CHECKS}?page=2>; rel="next"'},
        ),
    )
    server.reply(STATUS, combined())

    releases_poll()

    assert elsewhere.seen == []
    assert status_of(s) == "failed"  # what the own host said stands; nothing from elsewhere


# Abbreviated commits -------------------------------------------------------------------


SHORT = SHA[:10]


def shorten(s: Any) -> None:
    s.release.commit_sha = SHORT
    s.release.save(update_fields=["commit_sha"])


def test_a_short_commit_matches_on_github(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    shorten(s)
    # GitHub takes an abbreviated SHA as the ref and answers with full head SHAs.
    server.reply(CHECKS.replace(SHA, SHORT), check_runs(check_run()))
    server.reply(STATUS.replace(SHA, SHORT), combined())

    releases_poll()

    assert status_of(s) == "passed"


def test_a_short_commit_matches_on_gitlab(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "gitlab", slug="android-app", repository="acme/android-app")
    shorten(s)
    server.reply(f"{PROJECT}/repository/commits/{SHORT}", Reply(body={"id": SHA, "short_id": SHA[:8]}))
    server.reply(f"{PROJECT}/pipelines", Reply(body=[{"id": 77, "sha": SHA, "ref": "release/2.4"}]))
    server.reply(f"{PROJECT}/pipelines/77/jobs", Reply(body=[gitlab_job(501, "e2e-android", "failed")]))

    releases_poll()

    assert status_of(s) == "failed"
    pipelines = next(seen for seen in server.seen if seen.path == f"{PROJECT}/pipelines")
    assert pipelines.query["sha"] == [SHA]  # GitLab matches only the full SHA


def test_a_commit_gitlab_does_not_know_is_logged_once(
    paged: Callable[..., PagedCI], caplog: pytest.LogCaptureFixture
) -> None:
    server = paged()
    s = setup(server, "gitlab", slug="android-app", repository="acme/android-app")
    shorten(s)
    server.reply(f"{PROJECT}/repository/commits/{SHORT}", Reply(404, {"message": "404 Commit Not Found"}))

    with caplog.at_level(logging.WARNING, logger="integrations.polling"):
        releases_poll()
        releases_poll(session=later(3600))
    assert caplog.text.count(f"GitLab does not know commit {SHORT}") == 1


def test_a_short_commit_matches_on_jenkins(paged: Callable[..., PagedCI]) -> None:
    server = paged(etags=False)
    s = setup(server, "jenkins", repository="job/ios-app")
    shorten(s)
    server.reply("/job/ios-app/api/json", jenkins_job(jenkins_build(41, building=False, result="FAILURE")))

    releases_poll()

    assert status_of(s) == "failed"
    assert GateResult.objects.get(gate=s.gate).commit_sha == SHORT  # the release's own commit


# Rate limits ---------------------------------------------------------------------------


def test_a_secondary_limit_without_headers_waits_a_minute(paged: Callable[..., PagedCI]) -> None:
    server = paged()
    s = setup(server, "github")
    server.reply(
        CHECKS,
        Reply(403, {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}),
        check_runs(check_run()),
    )
    server.reply(STATUS, combined())

    releases_poll()
    cursor = PollCursor.objects.get(integration=s.integration, url__contains="check-runs")
    assert timedelta(seconds=55) < cursor.not_before - timezone.now() <= timedelta(seconds=60)
    releases_poll(session=later(45))
    assert server.paths().count(CHECKS) == 1
    releases_poll(session=later(61))
    assert status_of(s) == "passed"


def test_integrations_sharing_a_token_share_its_limit(
    paged: Callable[..., PagedCI], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = paged()
    monkeypatch.setenv("GONOGO_TEST_GITHUB_TOKEN", "ghp_shared")
    first = setup(server, "github")
    second = setup(server, "github", slug="android-app", repository="acme/android-app")
    for s in (first, second):
        s.integration.api_token_env = "GONOGO_TEST_GITHUB_TOKEN"
        s.integration.save()
    reset = int((timezone.now() + timedelta(minutes=10)).timestamp())
    limited = Reply(
        403,
        {"message": "API rate limit exceeded"},
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    server.reply(CHECKS, limited)
    server.reply(CHECKS.replace("ios-app", "android-app"), check_runs(check_run()))

    releases_poll()

    assert server.paths() == [CHECKS]  # the second integration's token is the same: held too
    assert status_of(second) is None


def test_polled_check_runs_of_the_same_name_in_two_workflows_are_two_jobs(
    paged: Callable[..., PagedCI],
) -> None:
    server = paged()
    s = setup(server, "github")
    failing = check_run("completed", "failure", run_id=4)
    passing = check_run("completed", "success", run_id=5)
    for run, workflow_run in ((failing, 111), (passing, 222)):
        run["details_url"] = f"https://github.com/acme/ios-app/actions/runs/{workflow_run}/job/{run['id']}"
    passing["completed_at"] = "2025-11-27T08:30:00Z"
    server.reply(CHECKS, check_runs(failing, passing))
    server.reply(STATUS, combined())

    releases_poll()

    assert status_of(s) == "failed"
