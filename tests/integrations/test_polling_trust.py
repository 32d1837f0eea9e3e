"""Polling trusts only the configured host and matches abbreviated commits (issue 12):
redirects and next pages elsewhere are not followed; a short commit matches on GitHub,
GitLab and Jenkins."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest

from gates.models import GateResult
from integrations.models import PollCursor
from integrations.polling import releases_poll

from .ci_payloads import (
    CHECKS,
    PROJECT,
    SHA,
    STATUS,
    check_run,
    check_runs,
    combined,
    github_server,
    gitlab_job,
    jenkins_build,
    jenkins_job,
    later,
    runs,
    setup,
    status_of,
)
from .ci_server import CI, PagedCI, Reply

pytestmark = pytest.mark.django_db


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
