"""Polling GitHub, GitLab and Jenkins, against local HTTP servers speaking their APIs.

Also here: every page read (test_polling_pages.py), back-off and rate limits
(test_polling_limits.py), stalled servers (test_polling_stalls.py), only the configured
host trusted and abbreviated commits matched (test_polling_trust.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from gates.models import Gate, GateResult
from gates.selectors import gate_current_status
from gates.services import gate_result_record
from integrations.apply import observations_apply
from integrations.models import PollCursor
from integrations.polling import releases_poll
from integrations.providers import github
from integrations.tasks import poll_due_task
from releases.models import Release

from .ci_payloads import (
    CHECKS,
    JOB,
    PROJECT,
    SHA,
    STATUS,
    check_run,
    check_runs,
    combined,
    commit_status,
    github_server,
    gitlab_job,
    jenkins_build,
    jenkins_job,
    setup,
    status_of,
)
from .ci_server import CI, PagedCI, Reply

pytestmark = pytest.mark.django_db


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


def test_the_beat_task_polls_due_releases(ci: Callable[..., CI], settings: Any) -> None:
    server = github_server(ci)
    s = setup(server, "github")

    assert settings.CELERY_BEAT_SCHEDULE["poll-ci"]["task"] == poll_due_task.name
    # A missed webhook shows within two minutes: asked at least every 60 s.
    assert settings.CELERY_BEAT_SCHEDULE["poll-ci"]["schedule"] <= 60
    assert poll_due_task() == 1
    assert status_of(s) == "passed"
