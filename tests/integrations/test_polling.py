"""Polling GitHub, GitLab and Jenkins, against local HTTP servers speaking their APIs."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from gates.models import Gate, GateResult
from gates.services import gate_result_record
from integrations.models import Integration, PollCursor
from integrations.polling import PollSession, releases_poll
from integrations.providers import github
from integrations.services import observations_apply
from integrations.tasks import poll_due_task
from releases.models import Product, Release
from releases.selectors import gate_current_status

pytestmark = pytest.mark.django_db

SHA = "3484a3fb81c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8"


# A CI provider played by a local HTTP server -------------------------------------------


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class CI:
    """Replies queued per path (the last one repeats); every request is kept. Like GitHub
    and GitLab, a 200 carries an ETag of its body and a matching If-None-Match gets 304."""

    def __init__(self, *, etags: bool = True) -> None:
        self.etags = etags
        self.replies: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def reply(self, path: str, *replies: Reply) -> None:
        self.replies[path] = list(replies)

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def close(self) -> None:
        if not self.thread.is_alive():
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def _answer(self, seen: Seen) -> tuple[int, dict[str, str], bytes]:
        self.seen.append(seen)
        queue = self.replies.get(seen.path)
        if not queue:
            return 404, {"Content-Type": "application/json"}, b'{"message": "Not Found"}'
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        body = json.dumps(reply.body).encode() if reply.body is not None else b""
        headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
        if self.etags and reply.status == 200:
            headers["ETag"] = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            if seen.headers.get("if-none-match") == headers["ETag"]:
                return 304, {"ETag": headers["ETag"]}, b""
        return reply.status, headers, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        ci = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                seen = Seen(
                    parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}
                )
                status, headers, body = ci._answer(seen)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def ci() -> Iterator[Callable[..., CI]]:
    servers: list[CI] = []

    def start(**kw: Any) -> CI:
        servers.append(CI(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


# The world being polled ---------------------------------------------------------------


@dataclass
class Setup:
    product: Product
    release: Release
    gate: Gate
    integration: Integration


def setup(
    server: CI,
    provider: str,
    *,
    slug: str = "ios-app",
    repository: str = "acme/ios-app",
    allow_failure_passes: bool = False,
    patterns: dict[str, str] | None = None,
) -> Setup:
    now = timezone.now()
    product = Product.objects.create(slug=slug, name=slug, platform="ios")
    release = Release.objects.create(
        product=product,
        version="2.4.0",
        build_number=1240,
        commit_sha=SHA,
        branch="release/2.4",
        state="candidate",
        state_changed_at=now,
        created_at=now,
    )
    gate = Gate.objects.create(
        key=f"{slug}-e2e",
        name="E2E",
        owner_role="qa",
        evaluation="ci",
        allow_failure_passes=allow_failure_passes,
    )
    gate.products.set([product])
    integration = Integration.objects.create(
        slug=f"{slug}-{provider}",
        provider=provider,
        product=product,
        api_url=server.url,
        repository=repository,
        gate_patterns=patterns or {"e2e*": gate.key},
    )
    return Setup(product, release, gate, integration)


def status_of(s: Setup) -> str | None:
    return gate_current_status(release=s.release, gate=s.gate)


def later(seconds: float) -> PollSession:
    return PollSession(clock=lambda: timezone.now() + timedelta(seconds=seconds))


# GitHub payloads, with the field names of the REST API -----------------------------------

CHECKS = f"/repos/acme/ios-app/commits/{SHA}/check-runs"
STATUS = f"/repos/acme/ios-app/commits/{SHA}/status"


def check_run(
    status: str = "completed", conclusion: str | None = "success", *, run_id: int = 4
) -> dict[str, Any]:
    return {
        "id": run_id,
        "head_sha": SHA,
        "name": "e2e-ios",
        "status": status,
        "conclusion": conclusion if status == "completed" else None,
        "started_at": "2025-11-27T07:40:00Z",
        "completed_at": "2025-11-27T08:00:00Z" if status == "completed" else None,
        "html_url": f"https://github.com/acme/ios-app/runs/{run_id}",
        "details_url": "https://ci.example/e2e/4",
        "output": {"title": "131 passed", "summary": "", "annotations_count": 0},
        "check_suite": {"id": 5},
        "app": {"id": 1, "slug": "github-actions", "name": "GitHub Actions"},
    }


def check_runs(*runs: dict[str, Any]) -> Reply:
    return Reply(body={"total_count": len(runs), "check_runs": list(runs)})


def combined(*statuses: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "state": statuses[0]["state"] if statuses else "pending",
            "sha": SHA,
            "total_count": len(statuses),
            "statuses": list(statuses),
        }
    )


def commit_status(context: str, state: str, *, status_id: int = 9) -> dict[str, Any]:
    return {
        "id": status_id,
        "state": state,
        "context": context,
        "description": "Build finished",
        "target_url": "https://ci.example/builds/9",
        "created_at": "2025-11-27T07:50:00Z",
        "updated_at": "2025-11-27T07:55:00Z",
    }


def github_server(ci: Callable[..., CI], **kw: Any) -> CI:
    server = ci(**kw)
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined())
    return server


# GitHub ---------------------------------------------------------------------------------


def test_github_check_runs_and_commit_statuses_land_on_their_gates(
    ci: Callable[..., CI], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ci()
    s = setup(server, "github")
    lint = Gate.objects.create(key="lint", name="Lint", owner_role="qa", evaluation="ci")
    lint.products.set([s.product])
    s.integration.gate_patterns = {"e2e*": s.gate.key, "ci/lint": "lint"}
    s.integration.api_token_env = "GONOGO_TEST_GITHUB_TOKEN"
    s.integration.save()
    monkeypatch.setenv("GONOGO_TEST_GITHUB_TOKEN", "ghp_secret")
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined(commit_status("ci/lint", "failure")))

    assert releases_poll() == 1

    assert status_of(s) == "passed"
    assert gate_current_status(release=s.release, gate=lint) == "failed"
    result = GateResult.objects.get(gate=s.gate)
    assert (result.source, result.run_id, result.check_name) == ("poll", "check_run/4", "e2e-ios")
    assert result.url == "https://github.com/acme/ios-app/runs/4" and result.summary == "131 passed"
    assert GateResult.objects.get(gate=lint).run_id == "status/9"
    assert server.paths() == [CHECKS, STATUS]
    first = server.seen[0]
    assert first.query == {"per_page": ["100"]}
    assert first.headers["authorization"] == "Bearer ghp_secret"
    assert first.headers["accept"] == "application/vnd.github+json"
    assert first.headers["x-github-api-version"] == "2022-11-28"


def test_poll_and_webhook_share_run_ids_so_nothing_is_recorded_twice(ci: Callable[..., CI]) -> None:
    server = github_server(ci, etags=False)  # the same 200 again, not a 304
    s = setup(server, "github")
    server.reply(CHECKS, check_runs(check_run("in_progress")))

    assert releases_poll() == 1
    assert status_of(s) == "running"
    assert releases_poll() == 1  # still running, so asked again: same answer
    webhook = github.observations("check_run", {"action": "created", "check_run": check_run("in_progress")})
    applied = observations_apply(integration=s.integration, observations=webhook)

    assert applied.duplicates == 1 and applied.recorded == 0
    assert GateResult.objects.filter(gate=s.gate).count() == 1
    assert len(server.seen) == 4


def test_etag_sends_if_none_match_and_a_304_records_nothing(ci: Callable[..., CI]) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    server.reply(CHECKS, check_runs(check_run("queued", None)))

    releases_poll()
    etag = PollCursor.objects.get(url=server.url + CHECKS + "?per_page=100").etag
    releases_poll()

    assert etag.startswith('W/"')
    assert server.seen[2].headers["if-none-match"] == etag
    assert PollCursor.objects.get(url=server.url + CHECKS + "?per_page=100").last_status == 304
    assert GateResult.objects.filter(gate=s.gate).count() == 1
    # A changed answer gets through.
    server.reply(CHECKS, check_runs(check_run()))
    releases_poll()
    assert status_of(s) == "passed"


def test_rate_limit_holds_every_request_of_the_integration_until_reset(ci: Callable[..., CI]) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    reset = int((timezone.now() + timedelta(minutes=10)).timestamp())
    server.reply(
        CHECKS,
        Reply(
            403,
            {"message": "API rate limit exceeded for user ID 1."},
            {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        ),
        check_runs(check_run()),
    )

    releases_poll()
    cursor = PollCursor.objects.get(integration=s.integration, url__endswith="check-runs?per_page=100")
    assert cursor.not_before is not None and int(cursor.not_before.timestamp()) == reset
    assert (cursor.last_status, cursor.failures) == (403, 0)
    assert "wait" in cursor.last_error
    # The status URL shares the credential: it is not asked either.
    assert server.paths() == [CHECKS]
    releases_poll()
    assert server.paths() == [CHECKS]
    assert status_of(s) is None

    releases_poll(session=later(601))
    assert server.paths() == [CHECKS, CHECKS, STATUS]
    assert status_of(s) == "passed"


@pytest.mark.parametrize("code", [429, 503])
def test_retry_after_is_honoured(ci: Callable[..., CI], code: int) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    server.reply(CHECKS, check_runs(check_run("in_progress")))  # keeps the release waiting
    server.reply(STATUS, Reply(code, {"message": "slow down"}, {"Retry-After": "120"}), combined())

    releases_poll()
    cursor = PollCursor.objects.get(integration=s.integration, url__endswith="/status?per_page=100")
    assert cursor.not_before is not None and cursor.last_status == code
    assert timedelta(seconds=110) < cursor.not_before - timezone.now() <= timedelta(seconds=120)
    assert status_of(s) == "running"  # the check runs still came through

    releases_poll(session=later(60))
    assert server.paths().count(STATUS) == 1
    releases_poll(session=later(121))
    assert server.paths().count(STATUS) == 2
    assert PollCursor.objects.get(pk=cursor.pk).not_before is None


def test_server_errors_back_off_and_other_integrations_are_still_polled(ci: Callable[..., CI]) -> None:
    broken = ci()
    broken.reply(CHECKS, Reply(500, {"message": "Server Error"}))
    broken.reply(STATUS, Reply(502, {"message": "Bad Gateway"}))
    down = setup(broken, "github", slug="web-app")
    working = github_server(ci)
    up = setup(working, "github", slug="ios-app")

    assert releases_poll() == 2

    assert status_of(up) == "passed"
    assert not GateResult.objects.filter(gate=down.gate).exists()
    cursor = PollCursor.objects.get(integration=down.integration, url__endswith="check-runs?per_page=100")
    assert (cursor.failures, cursor.last_status, cursor.last_error) == (1, 500, "HTTP 500")
    assert cursor.not_before is not None
    assert timedelta(seconds=25) < cursor.not_before - timezone.now() <= timedelta(seconds=30)

    releases_poll()  # held: no request
    assert len(broken.seen) == 2
    releases_poll(session=later(31))
    cursor.refresh_from_db()
    assert cursor.failures == 2 and len(broken.seen) == 4
    assert cursor.not_before is not None
    assert timedelta(seconds=85) < cursor.not_before - timezone.now() <= timedelta(seconds=91)


def test_an_unreachable_provider_is_noted_not_raised(ci: Callable[..., CI]) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    server.close()

    assert releases_poll() == 1
    cursor = PollCursor.objects.get(integration=s.integration, url__endswith="check-runs?per_page=100")
    assert cursor.failures == 1 and cursor.last_status is None
    assert cursor.last_error.startswith("no answer")


def test_a_redirect_to_another_host_is_not_followed(
    ci: Callable[..., CI], monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = github_server(ci)
    server = ci()
    server.reply(CHECKS, Reply(302, headers={"Location": elsewhere.url + CHECKS + "?per_page=100"}))
    server.reply(STATUS, Reply(302, headers={"Location": elsewhere.url + STATUS}))
    s = setup(server, "github")
    s.integration.api_token_env = "GONOGO_TEST_GITHUB_TOKEN"
    s.integration.save()
    monkeypatch.setenv("GONOGO_TEST_GITHUB_TOKEN", "ghp_secret")

    releases_poll()

    # Not followed at all: nothing from another host is ever recorded (issue 11/12).
    assert server.seen[0].headers["authorization"] == "Bearer ghp_secret"
    assert elsewhere.paths() == []
    assert not GateResult.objects.filter(gate=s.gate).exists()
    cursor = PollCursor.objects.get(integration=s.integration, url__contains="check-runs")
    assert "another host" in cursor.last_error


def test_releases_whose_gates_are_decided_are_not_polled(ci: Callable[..., CI]) -> None:
    server = github_server(ci)
    s = setup(server, "github")
    gate_result_record(release=s.release, gate=s.gate, status="failed", run_id="api-1")
    Release.objects.create(
        product=s.product,
        version="2.3.0",
        build_number=1200,
        commit_sha="a" * 40,
        state="released",
        state_changed_at=timezone.now(),
        created_at=timezone.now(),
    )

    assert releases_poll() == 0
    assert server.seen == []


# Jenkins --------------------------------------------------------------------------------

JOB = "/job/ios-app/api/json"


def jenkins_build(number: int, *, building: bool, result: str | None, sha: str = SHA) -> dict[str, Any]:
    return {
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "number": number,
        "building": building,
        "inProgress": building,
        "result": result,
        "url": f"https://ci.example/job/ios-app/{number}/",
        "timestamp": 1_700_000_000_000,
        "duration": 0 if building else 600_000,
        "actions": [
            {"_class": "hudson.model.CauseAction"},
            {},
            {"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": sha}},
        ],
    }


def jenkins_job(*builds: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": "e2e-ios",
            "builds": list(builds),
        }
    )


def test_jenkins_build_running_then_passed(ci: Callable[..., CI], monkeypatch: pytest.MonkeyPatch) -> None:
    server = ci(etags=False)  # Jenkins sends no ETag
    s = setup(server, "jenkins", repository="job/ios-app")
    s.integration.api_token_env = "GONOGO_TEST_JENKINS_TOKEN"
    s.integration.save()
    monkeypatch.setenv("GONOGO_TEST_JENKINS_TOKEN", "robot:11aa")
    older = jenkins_build(40, building=False, result="FAILURE", sha="b" * 40)
    server.reply(
        JOB,
        jenkins_job(jenkins_build(41, building=True, result=None), older),
        jenkins_job(jenkins_build(41, building=False, result="SUCCESS"), older),
    )

    releases_poll()
    assert status_of(s) == "running"
    releases_poll()
    assert status_of(s) == "passed"

    results = list(GateResult.objects.filter(gate=s.gate).order_by("id"))
    assert [(r.status, r.run_id, r.check_name) for r in results] == [
        ("running", "jenkins/41", "e2e-ios"),
        ("passed", "jenkins/41", "e2e-ios"),
    ]
    assert results[1].observed_at.timestamp() == 1_700_000_600
    assert results[1].url == "https://ci.example/job/ios-app/41/"
    seen = server.seen[0]
    assert seen.query["tree"][0].startswith("name,builds[number,result,building")
    assert seen.headers["authorization"] == "Basic cm9ib3Q6MTFhYQ=="


# GitLab ---------------------------------------------------------------------------------

PROJECT = "/api/v4/projects/acme%2Fandroid-app"


def gitlab_job(job_id: int, name: str, status: str, *, allow_failure: bool = False) -> dict[str, Any]:
    return {
        "id": job_id,
        "name": name,
        "stage": "test",
        "status": status,
        "ref": "release/2.4",
        "tag": False,
        "allow_failure": allow_failure,
        "created_at": "2025-11-27T07:30:00.000Z",
        "started_at": "2025-11-27T07:31:00.000Z",
        "finished_at": "2025-11-27T07:50:00.000Z" if status in ("success", "failed") else None,
        "web_url": f"https://gitlab.example.com/acme/android-app/-/jobs/{job_id}",
        "pipeline": {"id": 77, "sha": SHA, "ref": "release/2.4", "status": "running"},
    }


def test_gitlab_allowed_failure_job_passes_a_gate_that_says_so(
    ci: Callable[..., CI], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ci()
    s = setup(server, "gitlab", slug="android-app", repository="acme/android-app", allow_failure_passes=True)
    s.integration.api_token_env = "GONOGO_TEST_GITLAB_TOKEN"
    s.integration.save()
    monkeypatch.setenv("GONOGO_TEST_GITLAB_TOKEN", "glpat-secret")
    pipeline = {
        "id": 77,
        "iid": 12,
        "project_id": 3,
        "sha": SHA,
        "ref": "release/2.4",
        "status": "failed",
        "source": "push",
        "created_at": "2025-11-27T07:30:00.000Z",
        "updated_at": "2025-11-27T07:50:00.000Z",
        "web_url": "https://gitlab.example.com/acme/android-app/-/pipelines/77",
    }
    server.reply(f"{PROJECT}/pipelines", Reply(body=[pipeline]))
    server.reply(
        f"{PROJECT}/pipelines/77/jobs",
        Reply(
            body=[
                gitlab_job(501, "e2e-android", "failed", allow_failure=True),
                gitlab_job(502, "build", "success"),
            ]
        ),
    )

    assert releases_poll() == 1

    assert status_of(s) == "passed"
    result = GateResult.objects.get(gate=s.gate)
    assert (result.run_id, result.source, result.url) == (
        "job/501",
        "poll",
        "https://gitlab.example.com/acme/android-app/-/jobs/501",
    )
    assert "allowed to fail" in result.summary
    pipelines, jobs = server.seen
    assert pipelines.query == {
        "sha": [SHA],
        "order_by": ["id"],
        "sort": ["desc"],
        "per_page": ["1"],
    }
    assert jobs.query == {"per_page": ["100"], "include_retried": ["false"]}
    assert pipelines.headers["private-token"] == "glpat-secret"


def test_gitlab_jobs_that_finish_while_the_pipeline_runs_are_seen(ci: Callable[..., CI]) -> None:
    server = ci()
    s = setup(server, "gitlab", slug="android-app", repository="acme/android-app")
    pipeline = {"id": 77, "sha": SHA, "ref": "release/2.4", "status": "running"}
    server.reply(f"{PROJECT}/pipelines", Reply(body=[pipeline]))
    server.reply(
        f"{PROJECT}/pipelines/77/jobs",
        Reply(body=[gitlab_job(501, "e2e-android", "running")]),
        Reply(body=[gitlab_job(501, "e2e-android", "success")]),
    )

    releases_poll()
    assert status_of(s) == "running"
    releases_poll()  # the pipeline entry is unchanged; its job is not
    assert status_of(s) == "passed"


def test_a_gitlab_commit_without_pipeline_records_nothing(ci: Callable[..., CI]) -> None:
    server = ci()
    s = setup(server, "gitlab", slug="android-app", repository="acme/android-app")
    server.reply(f"{PROJECT}/pipelines", Reply(body=[]))

    assert releases_poll() == 1
    assert server.paths() == [f"{PROJECT}/pipelines"]
    assert not GateResult.objects.filter(gate=s.gate).exists()


# The beat task --------------------------------------------------------------------------


def test_the_beat_task_polls_due_releases(ci: Callable[..., CI], settings: Any) -> None:
    server = github_server(ci)
    s = setup(server, "github")

    assert settings.CELERY_BEAT_SCHEDULE["poll-ci"]["task"] == poll_due_task.name
    # A missed webhook shows within two minutes: asked at least every 60 s.
    assert settings.CELERY_BEAT_SCHEDULE["poll-ci"]["schedule"] <= 60
    assert poll_due_task() == 1
    assert status_of(s) == "passed"
