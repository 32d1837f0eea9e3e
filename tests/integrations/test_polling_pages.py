"""Polling reads every page (issue 12): a failure on page two fails the gate, an incomplete
listing never records a pass, each page keeps its own ETag."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gates.models import GateResult
from integrations.models import PollCursor
from integrations.poll_session import link_next
from integrations.polling import releases_poll

from .ci_payloads import (
    CHECKS,
    PROJECT,
    SHA,
    STATUS,
    check_run,
    check_runs,
    combined,
    commit_status,
    github_pages,
    gitlab_job,
    later,
    runs,
    setup,
    status_of,
)
from .ci_server import PagedCI, Reply

pytestmark = pytest.mark.django_db


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
