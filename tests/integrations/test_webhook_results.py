"""GitHub deliveries becoming gate results: each event type mapped by name and commit,
out-of-order and re-run jobs, several jobs on one gate, and deliveries that wait for
their release."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from board.lifecycle import release_create
from gates.models import GateResult
from gates.selectors import gate_current_status
from integrations.inbox import deliveries_replay_schedule
from integrations.models import Delivery
from integrations.providers import github

from .senders import fixture, job, post_github, status_of

pytestmark = pytest.mark.usefixtures("celery_eager")


def test_real_workflow_job_delivery_turns_its_gate_green(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("github/workflow_job.completed.success.with-organization.json")  # job "linters"
    with django_capture_on_commit_callbacks(execute=True):
        response = post_github(client, "workflow_job", payload)
    assert response.status_code == 202, response.content
    assert response.json()["duplicate"] is False
    assert status_of(ci_world, "typecheck") == "passed"
    delivery = Delivery.objects.get()
    assert delivery.state == "applied"
    assert bytes(delivery.body) == json.dumps(payload).encode()  # stored exactly as received
    assert "typecheck passed" in delivery.outcome


def test_in_progress_job_shows_running(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("github/workflow_job.in_progress.json")
    payload["workflow_job"]["name"] = "e2e (iPhone 15)"
    payload["workflow_job"]["head_sha"] = ci_world.release.commit_sha
    with django_capture_on_commit_callbacks(execute=True):
        assert post_github(client, "workflow_job", payload).status_code == 202
    assert status_of(ci_world, "e2e-regression") == "running"


def test_out_of_order_delivery_keeps_the_newer_result(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    finished = job("lint", "completed", "failure", at="2026-11-27T08:05:00Z")
    started = job("lint", "in_progress", None, at="2026-11-27T08:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", finished)
        post_github(client, "workflow_job", started)  # arrives late
    assert status_of(ci_world, "typecheck") == "failed"


def test_an_older_attempt_never_overrides_a_rerun(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    rerun = job("lint", "completed", "success", at="2026-11-27T08:10:00Z", job_id=11, attempt=2)
    first = job("lint", "completed", "failure", at="2026-11-27T08:12:00Z", job_id=10, attempt=1)  # clock skew
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", rerun)
        post_github(client, "workflow_job", first)
    # Different job ids, same job name: the newest observation of "lint" wins by time…
    assert status_of(ci_world, "typecheck") == "failed"
    # …but within one job id, an older attempt never overrides a newer one.
    again = job("lint", "completed", "success", at="2026-11-27T08:20:00Z", job_id=10, attempt=3)
    stale = job("lint", "completed", "failure", at="2026-11-27T08:25:00Z", job_id=10, attempt=2)
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", again)
        post_github(client, "workflow_job", stale)
    assert status_of(ci_world, "typecheck") == "passed"


def test_several_jobs_feeding_one_gate_show_the_worst(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_github(
            client,
            "workflow_job",
            job("e2e-ios", "completed", "failure", at="2026-11-27T08:00:00Z", job_id=1),
        )
        post_github(
            client,
            "workflow_job",
            job("e2e-android", "completed", "success", at="2026-11-27T08:05:00Z", job_id=2),
        )
    assert status_of(ci_world, "e2e-regression") == "failed"
    with django_capture_on_commit_callbacks(execute=True):
        post_github(
            client,
            "workflow_job",
            job("e2e-ios", "completed", "success", at="2026-11-27T08:10:00Z", job_id=3, attempt=2),
        )
    assert status_of(ci_world, "e2e-regression") == "passed"


@pytest.mark.parametrize("conclusion", ["skipped", "neutral"])
def test_skipped_and_neutral_never_pass(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any, conclusion: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", job("smoke", "completed", conclusion, at="2026-11-27T08:00:00Z"))
    assert status_of(ci_world, "smoke") == "skipped"
    from board.selectors import release_board

    assert not release_board(ci_world.release).verdict.ready


@pytest.mark.parametrize(
    ("event", "file", "name_path"),
    [
        ("check_run", "github/check_run.completed.json", ("check_run", "name")),
        ("check_run", "github/check_run.created.json", ("check_run", "name")),
        ("check_suite", "github/check_suite.completed.json", ("check_suite", "app", "name")),
        ("workflow_run", "github/workflow_run.completed.json", ("workflow_run", "name")),
        ("status", "github/status.json", ("context",)),
    ],
)
def test_every_github_event_maps_by_name_and_sha(
    client: Client,
    ci_world: Any,
    django_capture_on_commit_callbacks: Any,
    event: str,
    file: str,
    name_path: tuple[str, ...],
) -> None:
    payload = fixture(file)
    target = payload
    for key in name_path[:-1]:
        target = target[key]
    target[name_path[-1]] = "pact-consumer"
    sha_holder = payload if event == "status" else payload[name_path[0]]
    sha_holder["sha" if event == "status" else "head_sha"] = ci_world.release.commit_sha
    with django_capture_on_commit_callbacks(execute=True):
        assert post_github(client, event, payload).status_code == 202
    expected = {"check_run.created": "pending"}.get(Path(file).stem, "passed")
    assert status_of(ci_world, "contract") == expected


def test_unmapped_name_and_unknown_sha_are_recorded_without_change(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post_github(client, "check_run", fixture("github/check_run.completed.json")).status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.state == "ignored"
    assert "no gate pattern" in delivery.outcome
    assert not GateResult.objects.exists()


def test_release_found_by_branch_when_sha_unknown(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from releases.models import Release

    Release.objects.filter(pk=ci_world.release.pk).update(commit_sha="")
    payload = job("smoke", "completed", "success", at="2026-11-27T08:00:00Z", sha="a" * 40)
    payload["workflow_job"]["head_branch"] = "release/2.4.0"
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", payload)
    ci_world.release.refresh_from_db()
    assert status_of(ci_world, "smoke") == "passed"


def test_delivery_for_a_release_not_created_yet_is_applied_when_it_is(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    sha = "b" * 40
    with django_capture_on_commit_callbacks(execute=True):
        response = post_github(
            client,
            "workflow_job",
            job("smoke-tests", "completed", "success", at="2026-11-27T08:00:00Z", sha=sha),
        )
    assert response.status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.state == "waiting"
    assert not GateResult.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        release = release_create(
            product=ci_world.product, version="2.5.0", build=1300, commit=sha, state="candidate"
        )
        deliveries_replay_schedule(release=release)  # as POST /api/v1/releases does
    delivery.refresh_from_db()
    assert delivery.state == "applied"
    assert gate_current_status(release=release, gate=ci_world.gates["smoke"]) == "passed"


def test_same_run_on_a_new_build_is_recorded_again(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from releases.lifecycle import release_new_build

    payload = job("lint", "completed", "success", at="2026-11-27T08:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", payload)
    release_new_build(release=ci_world.release, build=1241, commit="c" * 40)
    payload["workflow_job"]["head_sha"] = "c" * 40
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", payload)
    ci_world.release.refresh_from_db()
    assert status_of(ci_world, "typecheck") == "passed"
    assert GateResult.objects.count() == 2


def test_unknown_conclusion_never_reads_as_passed() -> None:
    assert github.status_of("completed", "something_new") == "error"
    assert github.status_of("completed", None) == "error"
