"""The GitHub App's deployment protection rule against a fake GitHub (github_app_server):
the webhook's signature, the octokit payload, and each answer — approved only while a Go
stands, rejected with the reason otherwise, kept open while the release waits for the
call and approved within seconds of the PM's Go."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from board.decisions import release_decide
from board.links import board_url
from gates.services import gate_result_record
from integrations import deployments
from integrations.models import AppDelivery, AppInstallation, DeploymentRequest, DeployState, Integration

from .conftest import APP_SECRET, INSTALLATION, REPOSITORY
from .github_app_payloads import OCTOKIT_REQUESTED, installation_created, requested

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/github-app"


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(
    client: Client,
    payload: dict[str, Any],
    *,
    event: str = "deployment_protection_rule",
    signature: Any = True,
) -> Any:
    body = json.dumps(payload).encode()
    headers = {"HTTP_X_GITHUB_EVENT": event, "HTTP_X_GITHUB_DELIVERY": f"d-{time.monotonic_ns()}"}
    if signature is True:
        headers["HTTP_X_HUB_SIGNATURE_256"] = sign(body)
    elif signature:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post(URL, body, content_type="application/json", **headers)


@pytest.fixture
def run(celery_eager: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """Deliver and let the after-commit tasks run (Celery eager), as a worker would."""

    def go(client: Client, payload: dict[str, Any], **kw: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return deliver(client, payload, **kw)

    return go


def payload_for(world: Any, **kw: Any) -> dict[str, Any]:
    return requested(api=world.github.url, repository=REPOSITORY, sha=world.release.commit_sha, **kw)


def last_request() -> DeploymentRequest:
    return DeploymentRequest.objects.order_by("-id").first()  # type: ignore[return-value]


# The webhook: signed with the App's secret, checked before anything is stored.


def test_a_signed_delivery_is_stored_and_answered_202(client: Client, app_world: Any) -> None:
    response = deliver(client, payload_for(app_world))
    assert response.status_code == 202, response.content
    assert response.json()["event"] == "deployment_protection_rule"
    assert AppDelivery.objects.get().state == "received"  # processed after commit, not here


@pytest.mark.parametrize("signature", ["sha256=" + "0" * 64, None, "sha1=abc"])
def test_a_bad_or_missing_signature_is_refused_and_nothing_stored(
    client: Client, app_world: Any, signature: Any
) -> None:
    response = deliver(client, payload_for(app_world), signature=signature or False)
    assert response.status_code == 401
    assert response.json()["code"] == "signature_invalid"
    assert not AppDelivery.objects.exists()


def test_signed_with_another_secret_is_refused(client: Client, app_world: Any) -> None:
    body = json.dumps(payload_for(app_world)).encode()
    response = client.post(
        URL,
        body,
        content_type="application/json",
        HTTP_X_GITHUB_EVENT="deployment_protection_rule",
        HTTP_X_HUB_SIGNATURE_256=sign(body, "another-secret"),
    )
    assert response.status_code == 401
    assert not AppDelivery.objects.exists()


def test_without_a_secret_on_the_server_every_delivery_is_refused(
    client: Client, app_world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GONOGO_GITHUB_APP_WEBHOOK_SECRET")
    response = deliver(client, payload_for(app_world))
    assert response.status_code == 401
    assert response.json()["code"] == "secret_missing"


def test_a_redelivery_changes_nothing(client: Client, app_world: Any) -> None:
    body = json.dumps(payload_for(app_world)).encode()
    kw = {
        "HTTP_X_GITHUB_EVENT": "deployment_protection_rule",
        "HTTP_X_GITHUB_DELIVERY": "same-id",
        "HTTP_X_HUB_SIGNATURE_256": sign(body),
    }
    assert client.post(URL, body, content_type="application/json", **kw).status_code == 202
    again = client.post(URL, body, content_type="application/json", **kw)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert AppDelivery.objects.count() == 1


# The octokit example: its shape is read; its callback is not on the API, so nothing is sent.


def test_the_octokit_payload_is_read_and_no_token_goes_to_its_callback_host(
    client: Client, app_world: Any, run: Any
) -> None:
    app_world.integration.repository = "Codertocat/Hello-World"
    app_world.integration.deploy_environments = ["my-environment"]
    app_world.integration.save()
    run(
        client,
        installation_created(installation=501, repositories=["Codertocat/Hello-World"]),
        event="installation",
    )
    assert AppInstallation.objects.get(repository="codertocat/hello-world").installation_id == 501

    response = run(client, OCTOKIT_REQUESTED)
    assert response.status_code == 202
    request = last_request()
    assert (request.repository, request.environment) == ("Codertocat/Hello-World", "my-environment")
    assert request.sha == "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"  # from `deployment`
    assert request.ref == "master"
    assert request.installation_id == 501  # from the installation event
    assert request.run_id is None
    # No release has that commit: rejected, but the callback is on github.local and the run
    # unknown, so the answer cannot go anywhere safe: recorded, nothing sent.
    assert request.answer == "rejected"
    assert "no release of" in request.comment and "f95f852bd8fc" in request.comment
    assert request.state == DeployState.FAILED
    assert "not on the configured GitHub API" in request.last_error
    assert not [c for c in app_world.github.calls if "deployment_protection_rule" in c.path]
    assert AppDelivery.objects.get(event="deployment_protection_rule").state == "processed"


def test_a_callback_on_another_host_is_answered_through_the_configured_api(
    client: Client, app_world: Any, run: Any, decide: Any
) -> None:
    evil = f"https://evil.example/repos/{REPOSITORY}/actions/runs/555/deployment_protection_rule"
    run(client, payload_for(app_world, callback=evil))
    request = last_request()
    assert request.run_id == 555
    # Ready, not decided: still open; the Go answers it through the configured API only.
    decide(app_world, "go")
    request.refresh_from_db()
    assert request.state == DeployState.ANSWERED, request.last_error
    (call,) = app_world.github.answered()
    assert call.path == f"/repos/{REPOSITORY}/actions/runs/555/deployment_protection_rule"


# The answers.


def test_blocked_is_rejected_with_the_blockers_in_words(client: Client, app_world: Any, run: Any) -> None:
    gate_result_record(release=app_world.release, gate=app_world.gates[0], status="failed", run_id="r-fail")
    run(client, payload_for(app_world))
    request = last_request()
    assert request.state == DeployState.ANSWERED, request.last_error
    (call,) = app_world.github.answered()
    body = call.json()
    assert body["state"] == "rejected" and body["environment_name"] == "production"
    assert "is blocked by 3: “Gate 0” failed" in body["comment"]  # the gate, and both stale sign-offs
    assert ".." not in body["comment"]
    assert "/releases/" in body["comment"] or "Board:" in body["comment"]
    # The App's JWT was checked by the fake; the installation token was used for the answer.
    (claims,) = app_world.github.jwt_claims
    assert claims["exp"] - claims["iat"] <= 600 and claims["iat"] <= time.time() - 50
    token = app_world.github.tokens
    assert call.headers["authorization"].split(" ", 1)[1] in token
    event = AuditEvent.objects.get(action="github.deployment_answered")
    assert event.after["answer"] == "rejected" and event.release_id == app_world.release.pk


def test_ready_but_undecided_waits_then_the_go_approves_within_seconds(
    client: Client, app_world: Any, run: Any, decide: Any
) -> None:
    run(client, payload_for(app_world, run_id=123))
    request = last_request()
    assert request.state == DeployState.WAITING
    assert "waiting for the PM/PO's call" in request.comment
    assert not app_world.github.answered()

    client.force_login(app_world.pm)
    board = client.get(board_url(app_world.release))
    assert "GitHub: deployment to production waiting for the Go (run 123)" in board.content.decode()

    started = time.time()
    decide(app_world, "go")
    (call,) = app_world.github.answered()
    assert call.at - started < 5  # GitHub had the approval within seconds of the Go
    assert call.json()["state"] == "approved"
    assert "is Go (called by" in call.json()["comment"]
    request.refresh_from_db()
    assert (request.state, request.answer) == (DeployState.ANSWERED, "approved")

    board = client.get(board_url(app_world.release))
    assert "GitHub: deployment to production approved" in board.content.decode()


@pytest.fixture
def decide(celery_eager: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """The PM's call through the board's service; its after-commit tasks run (eager)."""

    def call(world: Any, outcome: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            release_decide(
                release=world.release,
                outcome=outcome,
                actor=world.pm,
                rationale="" if outcome == "go" else "Crash on login",
            )

    return call


def test_no_go_rejects_a_waiting_deployment(client: Client, app_world: Any, run: Any, decide: Any) -> None:
    run(client, payload_for(app_world))
    decide(app_world, "no_go")
    (call,) = app_world.github.answered()
    assert call.json()["state"] == "rejected"
    assert "No-Go" in call.json()["comment"] and "Crash on login" in call.json()["comment"]


def test_an_unknown_commit_is_rejected_saying_so(client: Client, app_world: Any, run: Any) -> None:
    run(client, requested(api=app_world.github.url, repository=REPOSITORY, sha="b" * 40))
    (call,) = app_world.github.answered()
    assert call.json()["state"] == "rejected"
    assert "no release of" in call.json()["comment"] and "b" * 12 in call.json()["comment"]
    assert last_request().release is None


def test_an_environment_not_gated_is_rejected_saying_which_are(
    client: Client, app_world: Any, run: Any
) -> None:
    run(client, payload_for(app_world, environment="staging"))
    (call,) = app_world.github.answered()
    assert call.json()["state"] == "rejected"
    assert "“staging” is not gated" in call.json()["comment"] and "production" in call.json()["comment"]


def test_a_repository_no_product_owns_is_rejected(client: Client, app_world: Any, run: Any) -> None:
    run(client, requested(api=app_world.github.url, repository="someone/else", sha="c" * 40))
    (call,) = app_world.github.answered()
    assert "no product is linked to the repository someone/else" in call.json()["comment"]


def test_the_sweep_rejects_a_waiting_deployment_whose_release_became_blocked(
    client: Client, app_world: Any, run: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run(client, payload_for(app_world))
    assert last_request().state == DeployState.WAITING
    gate_result_record(release=app_world.release, gate=app_world.gates[1], status="failed", run_id="r2-fail")
    with django_capture_on_commit_callbacks(execute=True):
        assert deployments.deployments_sweep() == 1
    (call,) = app_world.github.answered()
    assert call.json()["state"] == "rejected" and "Gate 1" in call.json()["comment"]


def test_a_5xx_is_retried_and_a_4xx_recorded_with_githubs_message(
    client: Client, app_world: Any, run: Any, django_capture_on_commit_callbacks: Any
) -> None:
    app_world.github.fail = [("deployment_protection_rule", 502)]
    gate_result_record(release=app_world.release, gate=app_world.gates[0], status="failed", run_id="r-fail")
    run(client, payload_for(app_world))
    request = last_request()
    # Eager retries would run at once; the first attempt's outcome is on record either way.
    assert request.attempts >= 1
    if request.state == DeployState.ANSWERING:
        assert "502" in request.last_error and request.next_attempt_at is not None
        with django_capture_on_commit_callbacks(execute=True):
            deployments.deployment_answer_send(request_id=request.pk)
        request.refresh_from_db()
    assert request.state == DeployState.ANSWERED and len(app_world.github.answered()) == 1
    assert any(c.status == 502 for c in app_world.github.calls)

    app_world.github.fail = [("deployment_protection_rule", 422)]
    run(client, payload_for(app_world, run_id=124))
    request = last_request()
    assert request.state == DeployState.FAILED and request.attempts == 1
    assert "422" in request.last_error and "Validation Failed" in request.last_error
    assert AuditEvent.objects.filter(action="github.deployment_answer_failed").count() == 1


def test_a_timeout_is_retried(
    client: Client, app_world: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from integrations import tasks

    queued: list[Any] = []
    deliver(client, payload_for(app_world))  # stored, not processed yet
    delivery = AppDelivery.objects.get()
    gate_result_record(release=app_world.release, gate=app_world.gates[0], status="failed", run_id="r-fail")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deployments.app_delivery_process(delivery_id=delivery.pk)
    assert callbacks  # the answer is queued after commit
    request = last_request()
    app_world.github.fail = [("deployment_protection_rule", 0)]
    original = tasks.deployment_answer_task.apply_async
    tasks.deployment_answer_task.apply_async = lambda args=None, countdown=None, **k: queued.append(  # type: ignore[method-assign]
        (args, countdown)
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            deployments.deployment_answer_send(request_id=request.pk)
    finally:
        tasks.deployment_answer_task.apply_async = original  # type: ignore[method-assign]
    request.refresh_from_db()
    assert request.state == DeployState.ANSWERING and "could not be reached" in request.last_error
    assert queued == [((request.pk,), 5)]
    deployments.deployment_answer_send(request_id=request.pk)
    request.refresh_from_db()
    assert request.state == DeployState.ANSWERED and request.attempts == 2


def test_installation_tokens_are_reused_until_shortly_before_they_expire(
    client: Client, app_world: Any, run: Any
) -> None:
    gate_result_record(release=app_world.release, gate=app_world.gates[0], status="failed", run_id="r-fail")
    run(client, payload_for(app_world, run_id=1))
    run(client, payload_for(app_world, run_id=2))
    assert len(app_world.github.answered()) == 2
    assert len(app_world.github.token_calls()) == 1
    assert app_world.github.token_calls()[0].path == f"/app/installations/{INSTALLATION}/access_tokens"

    from integrations import github_app

    github_app.tokens_forget()
    app_world.github.token_seconds = 200  # less than the 5 minutes kept in hand: asked each time
    run(client, payload_for(app_world, run_id=3))
    run(client, payload_for(app_world, run_id=4))
    assert len(app_world.github.token_calls()) == 3


def test_a_key_github_does_not_know_is_recorded_as_githubs_refusal(
    client: Client, app_world: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from .github_app_server import rsa_key_pem

    monkeypatch.setenv("GONOGO_GITHUB_APP_PRIVATE_KEY", rsa_key_pem()[0])
    gate_result_record(release=app_world.release, gate=app_world.gates[0], status="failed", run_id="r-fail")
    run(client, payload_for(app_world))
    request = last_request()
    assert request.state == DeployState.FAILED
    assert "401" in request.last_error and "JSON web token could not be decoded" in request.last_error
    assert not app_world.github.answered()


def test_installation_events_keep_which_installation_serves_which_repository(
    client: Client, app_world: Any, run: Any
) -> None:
    run(
        client,
        installation_created(installation=900, repositories=["acme/a", "acme/b"]),
        event="installation",
    )
    assert dict(
        AppInstallation.objects.filter(installation_id=900).values_list("repository", "installation_id")
    ) == {
        "acme/a": 900,
        "acme/b": 900,
    }
    changed = {
        "action": "removed",
        "installation": {"id": 900},
        "repositories_added": [{"full_name": "acme/c"}],
        "repositories_removed": [{"full_name": "acme/a"}],
    }
    run(client, changed, event="installation_repositories")
    assert set(AppInstallation.objects.filter(installation_id=900).values_list("repository", flat=True)) == {
        "acme/b",
        "acme/c",
    }
    run(
        client,
        {**installation_created(installation=900, repositories=[]), "action": "deleted"},
        event="installation",
    )
    assert not AppInstallation.objects.filter(installation_id=900).exists()
    assert AppInstallation.objects.filter(repository=REPOSITORY).exists()  # another installation's


def test_an_event_the_app_does_not_use_is_kept_and_ignored(client: Client, app_world: Any) -> None:
    response = deliver(client, {"zen": "Keep it logically awesome."}, event="ping")
    assert response.status_code == 200
    assert AppDelivery.objects.get().state == "ignored"


def test_an_approval_sent_late_is_judged_again_when_sent(
    client: Client, app_world: Any, decide: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """Approved while the Go stood, but the answer's message was lost (or waited on a
    retry) and a gate failed meanwhile: what goes to GitHub is the rejection it now is."""
    decide(app_world, "go")
    with django_capture_on_commit_callbacks(execute=False):  # processed here, its send's message lost
        deliver(client, payload_for(app_world))
        deployments.app_delivery_process(delivery_id=AppDelivery.objects.order_by("-id").first().pk)
    request = last_request()
    assert (request.state, request.answer) == (DeployState.ANSWERING, "approved")
    gate_result_record(
        release=app_world.release, gate=app_world.gates[0], status="failed", run_id="late-fail"
    )
    deployments.deployment_answer_send(request_id=request.pk)
    (call,) = app_world.github.answered()
    assert call.json()["state"] == "rejected" and "“Gate 0” failed" in call.json()["comment"]
    request.refresh_from_db()
    assert (request.state, request.answer) == (DeployState.ANSWERED, "rejected")


def test_a_signature_that_is_not_ascii_is_refused_not_an_error(client: Client, app_world: Any) -> None:
    response = deliver(client, payload_for(app_world), signature="sha256=ünicode")
    assert response.status_code == 401


def test_an_answer_is_retried_for_as_long_as_github_waits(
    client: Client, app_world: Any, celery_eager: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """GitHub down for hours: the answer is tried again every 5 minutes (not given up
    after a few attempts), and sent once GitHub is back."""
    app_world.github.fail = [("deployment_protection_rule", 503)] * 20
    gate_result_record(release=app_world.release, gate=app_world.gates[0], status="failed", run_id="r-fail")
    with django_capture_on_commit_callbacks(execute=False):
        deliver(client, payload_for(app_world))
        deployments.app_delivery_process(delivery_id=AppDelivery.objects.order_by("-id").first().pk)
    request = last_request()
    for _attempt in range(12):
        with django_capture_on_commit_callbacks(execute=False):
            deployments.deployment_answer_send(request_id=request.pk)
        request.refresh_from_db()
        assert request.state == DeployState.ANSWERING and request.next_attempt_at is not None
    assert (request.next_attempt_at - timezone.now()).total_seconds() <= 300
    app_world.github.fail = []
    deployments.deployment_answer_send(request_id=request.pk)
    request.refresh_from_db()
    assert request.state == DeployState.ANSWERED and request.attempts == 13


def test_one_repository_of_two_products_goes_to_the_one_that_gates_the_environment(app_world: Any) -> None:
    other = Integration.objects.get(repository__iexact=REPOSITORY)
    twin = Integration.objects.create(
        slug="aaa-web",
        provider=other.provider,
        product=app_world.release.product,
        repository=REPOSITORY,
        secret_env=other.secret_env,
        deploy_environments=["staging"],
    )
    assert deployments.integration_for(REPOSITORY, "Staging") == twin
    assert deployments.integration_for(REPOSITORY, "production") == other
