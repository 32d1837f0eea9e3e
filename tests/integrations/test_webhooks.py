"""GitHub and GitLab receivers, fed the real payloads in tests/fixtures/ci-payloads,
signed as the providers sign them."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from gates.models import GateResult
from integrations.models import Delivery
from integrations.providers import github
from releases.selectors import gate_current_status
from releases.services import release_create

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ci-payloads"
GITHUB_SECRET = "It's a Secret to Everybody"
GITLAB_SECRET = "gitlab-token-123"
URL_GH = "/api/v1/webhooks/github/gh"
URL_GL = "/api/v1/webhooks/gitlab/gl"

pytestmark = pytest.mark.usefixtures("celery_eager")


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def sign(body: bytes, secret: str = GITHUB_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_github(
    client: Client,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str | None = None,
    **headers: str,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    final = {
        "HTTP_X_GITHUB_EVENT": event,
        "HTTP_X_GITHUB_DELIVERY": delivery or str(uuid.uuid4()),
        "HTTP_X_HUB_SIGNATURE_256": sign(body),
        **headers,
    }
    return client.post(URL_GH, body, content_type="application/json", **final)


def job(
    name: str,
    status: str,
    conclusion: str | None,
    *,
    at: str,
    run_id: int = 1,
    job_id: int = 10,
    attempt: int = 1,
    sha: str | None = None,
) -> dict[str, Any]:
    """A workflow_job delivery: the real fixture with name, state and times changed."""
    payload = fixture("github/workflow_job.completed.success.with-organization.json")
    j = payload["workflow_job"]
    j.update(name=name, status=status, conclusion=conclusion, run_id=run_id, id=job_id, run_attempt=attempt)
    j["started_at"] = at
    j["completed_at"] = at if status == "completed" else None
    if sha:
        j["head_sha"] = sha
    payload["action"] = "completed" if status == "completed" else status
    return payload


def status_of(ci_world: Any, gate: str) -> str | None:
    return gate_current_status(release=ci_world.release, gate=ci_world.gates[gate])


def test_github_test_vector() -> None:
    """GitHub's documented example: secret and body give this signature."""
    assert sign(b"Hello, World!") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


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


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"HTTP_X_HUB_SIGNATURE_256": None}, "missing header"),
        ({"HTTP_X_HUB_SIGNATURE_256": "sha256=" + "0" * 64}, "wrong signature"),
        ({"HTTP_X_HUB_SIGNATURE_256": "sha1=abc"}, "wrong scheme"),
        ({"secret": "another secret"}, "wrong secret"),
        ({"tamper": True}, "tampered body"),
    ],
)
def test_signature_refusals_store_nothing(
    client: Client, ci_world: Any, headers: dict[str, Any], why: str
) -> None:
    body = json.dumps(fixture("github/workflow_job.completed.success.with-organization.json")).encode()
    signature = sign(body, headers.get("secret", GITHUB_SECRET))
    if headers.get("tamper"):
        body = body.replace(b'"success"', b'"failure"', 1)
    final = {
        "HTTP_X_GITHUB_EVENT": "workflow_job",
        "HTTP_X_GITHUB_DELIVERY": "d-1",
        "HTTP_X_HUB_SIGNATURE_256": signature,
    }
    if "HTTP_X_HUB_SIGNATURE_256" in headers:
        if headers["HTTP_X_HUB_SIGNATURE_256"] is None:
            del final["HTTP_X_HUB_SIGNATURE_256"]
        else:
            final["HTTP_X_HUB_SIGNATURE_256"] = headers["HTTP_X_HUB_SIGNATURE_256"]
    response = client.post(URL_GH, body, content_type="application/json", **final)
    assert response.status_code == 401, why
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 401
    assert not Delivery.objects.exists()
    assert not GateResult.objects.exists()


def test_unset_secret_refuses_everything(
    client: Client, ci_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_TEST_GITHUB_SECRET")
    assert post_github(client, "ping", fixture("github/ping.json")).status_code == 401


def test_ping_answers_200_and_changes_nothing(client: Client, ci_world: Any) -> None:
    response = post_github(client, "ping", fixture("github/ping.json"))
    assert response.status_code == 200
    assert not GateResult.objects.exists()


def test_redelivery_changes_nothing(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("github/workflow_job.completed.success.with-organization.json")
    with django_capture_on_commit_callbacks(execute=True):
        first = post_github(client, "workflow_job", payload, delivery="same-id")
        again = post_github(client, "workflow_job", payload, delivery="same-id")
    assert first.status_code == 202
    assert again.status_code == 200
    assert again.json() == {**first.json(), "duplicate": True}
    assert Delivery.objects.count() == 1
    assert GateResult.objects.count() == 1


def test_same_run_under_a_new_delivery_id_is_recorded_once(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("github/workflow_job.completed.success.with-organization.json")
    with django_capture_on_commit_callbacks(execute=True):
        post_github(client, "workflow_job", payload)
        post_github(client, "workflow_job", payload)
    assert GateResult.objects.count() == 1
    assert list(Delivery.objects.values_list("state", flat=True)) == ["ignored", "applied"]


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
    from releases.selectors import release_board

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
    delivery.refresh_from_db()
    assert delivery.state == "applied"
    assert gate_current_status(release=release, gate=ci_world.gates["smoke"]) == "passed"


def test_body_over_one_mebibyte_is_413(client: Client, ci_world: Any) -> None:
    body = b'{"pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = post_github(client, "workflow_job", body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert not Delivery.objects.exists()


def test_not_json_is_a_clear_400(client: Client, ci_world: Any) -> None:
    response = post_github(client, "workflow_job", b"not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_unknown_integration_is_404(client: Client, ci_world: Any) -> None:
    response = client.post("/api/v1/webhooks/github/nope", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_integration"


def test_unknown_conclusion_never_reads_as_passed() -> None:
    assert github.status_of("completed", "something_new") == "error"
    assert github.status_of("completed", None) == "error"


# GitLab ---------------------------------------------------------------------------------


def post_gitlab(
    client: Client, event: str, payload: dict[str, Any], *, token: str = GITLAB_SECRET, **headers: str
) -> Any:
    return client.post(
        URL_GL,
        json.dumps(payload).encode(),
        content_type="application/json",
        HTTP_X_GITLAB_EVENT=event,
        HTTP_X_GITLAB_TOKEN=token,
        **headers,
    )


def gitlab_pipeline(ci_world: Any, **job_changes: Any) -> dict[str, Any]:
    payload = fixture("gitlab/pipeline.success.json")
    payload["object_attributes"]["sha"] = ci_world.release.commit_sha
    for build in payload["builds"]:
        if build["name"] == "test-image":
            build.update(name="e2e-gitlab", **job_changes)
    return payload


def test_gitlab_pipeline_hook_maps_jobs(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = post_gitlab(client, "Pipeline Hook", gitlab_pipeline(ci_world), HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 202
    assert status_of(ci_world, "e2e-regression") == "passed"


@pytest.mark.parametrize("token", ["wrong", ""])
def test_gitlab_wrong_or_missing_token_is_401(client: Client, ci_world: Any, token: str) -> None:
    assert post_gitlab(client, "Pipeline Hook", gitlab_pipeline(ci_world), token=token).status_code == 401
    assert not Delivery.objects.exists()


def test_gitlab_idempotency_key_and_event_uuid_deduplicate(client: Client, ci_world: Any) -> None:
    payload = gitlab_pipeline(ci_world)
    assert post_gitlab(client, "Pipeline Hook", payload, HTTP_IDEMPOTENCY_KEY="k-2").status_code == 202
    assert (
        post_gitlab(client, "Pipeline Hook", payload, HTTP_IDEMPOTENCY_KEY="k-2").json()["duplicate"] is True
    )
    assert post_gitlab(client, "Pipeline Hook", payload, HTTP_X_GITLAB_EVENT_UUID="u-1").status_code == 202
    assert post_gitlab(client, "Pipeline Hook", payload, HTTP_X_GITLAB_EVENT_UUID="u-1").status_code == 200
    assert Delivery.objects.count() == 2


def test_gitlab_job_hook_uses_sha_not_commit_id(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    payload = fixture("gitlab/job.created.json")
    payload.update(sha=ci_world.release.commit_sha, build_name="smoke-suite", build_status="running")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_gitlab(client, "Job Hook", payload).status_code == 202
    assert status_of(ci_world, "smoke") == "running"


@pytest.mark.parametrize(("gate", "expected"), [("perf", "passed"), ("e2e-regression", "failed")])
def test_gitlab_allow_failure_passes_only_where_the_gate_says_so(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any, gate: str, expected: str
) -> None:
    payload = fixture("gitlab/job.created.json")
    name = "perf-check" if gate == "perf" else "e2e-flaky"
    payload.update(
        sha=ci_world.release.commit_sha,
        build_name=name,
        build_status="failed",
        build_allow_failure=True,
        build_finished_at="2026-11-27 08:00:00 UTC",
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_gitlab(client, "Job Hook", payload)
    key = "allowed" if gate == "perf" else gate
    assert status_of(ci_world, key) == expected


@pytest.mark.parametrize(
    ("event", "change"),
    [
        ("status", {"branches": 5}),
        (
            "workflow_job",
            {
                "workflow_job": {
                    "name": "lint",
                    "status": "completed",
                    "conclusion": "success",
                    "run_attempt": 10**20,
                    "head_sha": "3484a3fb816e0859fd6e1cea078d76385ff50625",
                    "started_at": "0001-01-01T00:00:00+01:00",
                }
            },
        ),
        ("workflow_job", {"workflow_job": ["not", "an", "object"]}),
    ],
)
def test_odd_payloads_never_break_processing(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any, event: str, change: dict[str, Any]
) -> None:
    """Signed but odd bodies are stored, processed without an exception, and say what happened."""
    payload = {
        **fixture("github/status.json" if event == "status" else "github/workflow_job.in_progress.json"),
        **change,
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post_github(client, event, payload).status_code == 202
    delivery = Delivery.objects.get()
    assert delivery.state in ("applied", "ignored", "failed")
    assert delivery.outcome


def test_huge_numbers_and_deep_nesting_are_400_not_500(client: Client, ci_world: Any) -> None:
    assert post_github(client, "workflow_job", b'{"n": ' + b"9" * 5000 + b"}").status_code == 400
    assert post_github(client, "workflow_job", b"[" * 100000 + b"]" * 100000).status_code == 400


def test_same_run_on_a_new_build_is_recorded_again(
    client: Client, ci_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from releases.services import release_new_build

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


def test_the_integration_is_read_once_per_process_not_per_delivery(client: Client, ci_world: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    post_github(client, "ping", fixture("github/ping.json"))
    with CaptureQueriesContext(connection) as queries:
        assert post_github(client, "ping", fixture("github/ping.json")).status_code == 200
    assert not [q for q in queries.captured_queries if "integrations_integration" in q["sql"]]
