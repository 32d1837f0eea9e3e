"""CI must never turn a failed gate green by accident (issue 11, item 10): a run updated
in place ends with its newest observation, jobs of the same name in two workflows (or
stages) are two jobs, and a body over the limit gets its 413 even from senders that write
the whole body first."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

from gates.models import GateResult

from .senders import fixture, job, post_github, post_gitlab, status_of

pytestmark = pytest.mark.usefixtures("celery_eager")


def check_run(status: str, conclusion: str | None, *, at: str, sha: str, run_id: int = 4) -> dict[str, Any]:
    """A check_run delivery (GitHub's own fixture) for one check run updated in place."""
    payload = fixture("github/check_run.completed.json")
    run = payload["check_run"]
    run.update(id=run_id, name="pact-verify", status=status, conclusion=conclusion, head_sha=sha)
    run["started_at"] = at
    run["completed_at"] = at if status == "completed" else None
    payload["action"] = "completed" if status == "completed" else "rerequested"
    return payload


def deliver_all(client: Client, capture: Any, event: str, payloads: list[dict[str, Any]]) -> None:
    for payload in payloads:
        with capture(execute=True):
            assert post_github(client, event, payload).status_code == 202


def test_check_run_failing_again_after_passing_ends_failed(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = ci_world.release.commit_sha
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "check_run",
        [
            check_run("completed", "failure", at="2026-11-27T08:00:00Z", sha=sha),
            check_run("completed", "success", at="2026-11-27T08:05:00Z", sha=sha),
            check_run("completed", "failure", at="2026-11-27T08:10:00Z", sha=sha),
        ],
    )
    assert status_of(ci_world, "contract") == "failed"
    assert GateResult.objects.filter(gate=ci_world.gates["contract"]).count() == 3


def test_redelivered_old_failure_does_not_override_a_newer_pass(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = ci_world.release.commit_sha
    first = check_run("completed", "failure", at="2026-11-27T08:00:00Z", sha=sha)
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "check_run",
        [first, check_run("completed", "success", at="2026-11-27T08:05:00Z", sha=sha), first],
    )
    assert status_of(ci_world, "contract") == "passed"
    assert GateResult.objects.filter(gate=ci_world.gates["contract"]).count() == 2


def test_finished_job_back_in_the_queue_is_pending_again(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = ci_world.release.commit_sha
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "check_run",
        [
            check_run("completed", "success", at="2026-11-27T08:00:00Z", sha=sha),
            check_run("queued", None, at="2026-11-27T08:20:00Z", sha=sha),  # runner lost, re-queued
        ],
    )
    assert status_of(ci_world, "contract") == "pending"


def test_a_start_delivered_after_its_finish_does_not_reopen_it(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = ci_world.release.commit_sha
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "workflow_job",
        [
            job("e2e", "completed", "success", at="2026-11-27T08:10:00Z", sha=sha),
            job("e2e", "in_progress", None, at="2026-11-27T08:00:00Z", sha=sha),  # late, older
        ],
    )
    assert status_of(ci_world, "e2e-regression") == "passed"


def test_api_result_posted_again_is_still_a_duplicate(client: Client, ci_world: Any) -> None:
    token = ci_world.token("results")
    body = {"product": "ios-app", "version": "2.4.0", "gate": "contract", "status": "failed", "run_id": "r-1"}
    post = lambda: client.post(  # noqa: E731
        "/api/v1/results", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert post().json()["duplicate"] is False
    again = post()
    assert again.status_code == 200 and again.json()["duplicate"] is True


def test_same_job_name_in_two_workflows_are_two_jobs(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = ci_world.release.commit_sha
    ios = job("e2e-test", "completed", "failure", at="2026-11-27T08:00:00Z", sha=sha, run_id=1, job_id=11)
    ios["workflow_job"]["workflow_name"] = "ios-e2e"
    android = job("e2e-test", "completed", "success", at="2026-11-27T08:30:00Z", sha=sha, run_id=2, job_id=12)
    android["workflow_job"]["workflow_name"] = "android-e2e"
    deliver_all(client, django_capture_on_commit_callbacks, "workflow_job", [ios, android])
    assert status_of(ci_world, "e2e-regression") == "failed"
    names = set(
        GateResult.objects.filter(gate=ci_world.gates["e2e-regression"]).values_list("check_name", flat=True)
    )
    assert names == {"ios-e2e / e2e-test", "android-e2e / e2e-test"}


def test_patterns_may_name_the_workflow_as_github_shows_it(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    integration = ci_world.github
    integration.gate_patterns = {"ios-e2e / *": "e2e-regression", "lint*": "typecheck"}
    integration.save()
    sha = ci_world.release.commit_sha
    ios = job("test", "completed", "failure", at="2026-11-27T08:00:00Z", sha=sha, run_id=1, job_id=11)
    ios["workflow_job"]["workflow_name"] = "ios-e2e"
    other = job("test", "completed", "success", at="2026-11-27T08:00:00Z", sha=sha, run_id=2, job_id=12)
    other["workflow_job"]["workflow_name"] = "docs"
    deliver_all(client, django_capture_on_commit_callbacks, "workflow_job", [ios, other])
    assert status_of(ci_world, "e2e-regression") == "failed"
    assert GateResult.objects.filter(gate=ci_world.gates["e2e-regression"]).count() == 1
    # A plain job name still matches its pattern.
    lint = job("linters", "completed", "success", at="2026-11-27T08:00:00Z", sha=sha, run_id=3, job_id=13)
    deliver_all(client, django_capture_on_commit_callbacks, "workflow_job", [lint])
    assert status_of(ci_world, "typecheck") == "passed"


def test_gitlab_jobs_of_the_same_name_in_two_stages_are_two_jobs(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("gitlab/pipeline.success.json")
    payload["object_attributes"]["sha"] = ci_world.release.commit_sha
    template = payload["builds"][0]
    failing, passing = copy.deepcopy(template), copy.deepcopy(template)
    failing.update(id=901, name="e2e", stage="ios", status="failed", finished_at="2026-11-27 08:00:00 UTC")
    passing.update(
        id=902, name="e2e", stage="android", status="success", finished_at="2026-11-27 08:30:00 UTC"
    )
    payload["builds"] = [failing, passing]
    with django_capture_on_commit_callbacks(execute=True):
        assert post_gitlab(client, "Pipeline Hook", payload).status_code == 202
    assert status_of(ci_world, "e2e-regression") == "failed"


def test_a_failure_delivered_out_of_order_still_wins(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Fail 08:00, fail 08:10, then the 08:05 pass arrives last: the run's newest
    observation is the 08:10 failure."""
    sha = ci_world.release.commit_sha
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "check_run",
        [
            check_run("completed", "failure", at="2026-11-27T08:00:00Z", sha=sha),
            check_run("completed", "failure", at="2026-11-27T08:10:00Z", sha=sha),
            check_run("completed", "success", at="2026-11-27T08:05:00Z", sha=sha),
        ],
    )
    assert status_of(ci_world, "contract") == "failed"


def actions_check_run(
    name: str, conclusion: str, *, at: str, sha: str, run_id: int, workflow_run: int
) -> dict[str, Any]:
    payload = check_run("completed", conclusion, at=at, sha=sha, run_id=run_id)
    run = payload["check_run"]
    run["name"] = name
    run["details_url"] = f"https://github.com/acme/ios-app/actions/runs/{workflow_run}/job/{run_id + 1000}"
    run["html_url"] = run["details_url"]
    return payload


def test_check_runs_of_the_same_name_in_two_workflows_are_two_jobs(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = ci_world.release.commit_sha
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "check_run",
        [
            actions_check_run(
                "pact", "failure", at="2026-11-27T08:00:00Z", sha=sha, run_id=4, workflow_run=111
            ),
            actions_check_run(
                "pact", "success", at="2026-11-27T08:30:00Z", sha=sha, run_id=5, workflow_run=222
            ),
        ],
    )
    assert status_of(ci_world, "contract") == "failed"
    # A re-run of the failing workflow (same workflow run, a new check run) clears it.
    deliver_all(
        client,
        django_capture_on_commit_callbacks,
        "check_run",
        [
            actions_check_run(
                "pact", "success", at="2026-11-27T09:00:00Z", sha=sha, run_id=6, workflow_run=111
            )
        ],
    )
    assert status_of(ci_world, "contract") == "passed"
