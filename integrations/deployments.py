"""The GitHub App's deployment protection rule (docs/github-app.md).

GitHub holds a deployment to an environment where our rule is enabled and sends the App
`deployment_protection_rule` (`requested`). The delivery is stored before anything reads
it (`app_delivery_receive`), processed after commit (`app_delivery_process`): the request
becomes a `DeploymentRequest`, judged against the release with that commit:

- a Go stands → `approved`;
- blocked, No-Go, halted, a stale Go, no release with that commit, a repository no
  product owns, an environment not gated → `rejected`, saying why in the comment;
- ready but not decided → kept open ("waiting for the PM/PO's call"), judged again when
  the decision comes (`decision.go`/`decision.no_go`, apps.py) and by the sweep.

The answer is a row first (state `answering`), sent after commit by a task
(`deployment_answer_send`): `POST …/actions/runs/{run_id}/deployment_protection_rule`,
retried with backoff on 5xx and timeouts; a 4xx is recorded with GitHub's message. Every
answer is audited and shown on the board's decision panel.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from live.services import live_notify
from releases.models import Release

from . import tasks  # the tasks module imports this one: read at call time
from .gh_standing import standing_now
from .github_app import GitHubFailure, app_settings, installation_call, on_api
from .models import (
    AppDelivery,
    AppDeliveryState,
    AppInstallation,
    DeploymentRequest,
    DeployState,
    Integration,
    Provider,
)

USED_EVENTS = ("deployment_protection_rule", "installation", "installation_repositories")
GITHUB_WAITS = timedelta(days=30)  # GitHub fails a protection rule left unanswered this long
ACTOR = "github-app"
RUN_IN_PATH = re.compile(r"/actions/runs/(\d+)/deployment_protection_rule/?$")


def app_delivery_receive(
    *, key: str, event: str, action: str, headers: Mapping[str, str], body: bytes
) -> tuple[int, bool]:
    """Store a signed delivery as it came; the same delivery id again is a duplicate.
    Returns (id, duplicate). Deliveries of events we use are processed after commit."""
    used = event in USED_EVENTS
    with transaction.atomic():
        delivery, created = AppDelivery.objects.get_or_create(
            key=(key or f"none-{uuid.uuid4()}")[:100],
            defaults={
                "event": event[:50],
                "action": action[:50],
                "headers": dict(headers),
                "body": body,
                "received_at": timezone.now(),
                "state": AppDeliveryState.RECEIVED if used else AppDeliveryState.IGNORED,
                "outcome": "" if used else f"event “{event}” is not one the App uses",
            },
        )
        if used and (created or delivery.state == AppDeliveryState.RECEIVED):
            pk = delivery.pk
            transaction.on_commit(lambda: tasks.app_delivery_process_task.delay(pk), robust=True)
    return delivery.pk, not created


def _installations_note(event: str, action: str, payload: dict[str, Any]) -> str:
    """Keep which installation serves which repository (installation and
    installation_repositories events, and any event naming both)."""
    installation = payload.get("installation") or {}
    inst_id = installation.get("id") if isinstance(installation, dict) else None
    if not isinstance(inst_id, int):
        return ""
    names: list[str] = []
    removed: list[str] = []
    repo = payload.get("repository")
    if isinstance(repo, dict) and repo.get("full_name"):
        names.append(str(repo["full_name"]))
    if event == "installation":
        names += [str(r.get("full_name")) for r in payload.get("repositories") or [] if isinstance(r, dict)]
        if action == "deleted":
            removed, names = names, []
            AppInstallation.objects.filter(installation_id=inst_id).delete()
    if event == "installation_repositories":
        names += [
            str(r.get("full_name")) for r in payload.get("repositories_added") or [] if isinstance(r, dict)
        ]
        removed += [
            str(r.get("full_name")) for r in payload.get("repositories_removed") or [] if isinstance(r, dict)
        ]
    now = timezone.now()
    for name in names:
        AppInstallation.objects.update_or_create(
            repository=name.lower()[:255], defaults={"installation_id": inst_id, "updated_at": now}
        )
    if removed:
        AppInstallation.objects.filter(repository__in=[n.lower() for n in removed]).delete()
    return f"installation {inst_id}: {len(names)} repositories kept, {len(removed)} removed"


def app_delivery_process(*, delivery_id: int) -> AppDelivery:
    """Process one stored delivery; safe to run twice (only a `received` one is read)."""
    with transaction.atomic():
        delivery = AppDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.state != AppDeliveryState.RECEIVED:
            return delivery
        try:
            payload = json.loads(bytes(delivery.body))
            if not isinstance(payload, dict):
                raise ValueError("the body is not a JSON object")
            notes = [_installations_note(delivery.event, delivery.action, payload)]
            if delivery.event == "deployment_protection_rule" and delivery.action == "requested":
                request = deployment_request_record(delivery=delivery, payload=payload)
                notes.append(f"deployment request {request.pk}: {request.state} {request.answer}".strip())
            delivery.state = AppDeliveryState.PROCESSED
            delivery.outcome = "\n".join(n for n in notes if n) or "nothing to do"
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            delivery.state = AppDeliveryState.FAILED
            delivery.outcome = f"could not be read: {exc.__class__.__name__}: {exc}"[:2000]
        delivery.processed_at = timezone.now()
        delivery.save(update_fields=["state", "outcome", "processed_at"])
    return delivery


def _run_id(callback: str, payload: dict[str, Any]) -> int | None:
    match = RUN_IN_PATH.search(urlsplit(callback).path) if callback else None
    if match:
        return int(match.group(1))
    run = payload.get("workflow_run")
    return int(run["id"]) if isinstance(run, dict) and isinstance(run.get("id"), int) else None


def deployment_request_record(*, delivery: AppDelivery | None, payload: dict[str, Any]) -> DeploymentRequest:
    """A `deployment_protection_rule.requested` payload (octokit/webhooks' shape: the
    commit and ref at the top or in `deployment`), stored and judged."""
    deployment = payload.get("deployment") or {}
    repository = str(payload["repository"]["full_name"])
    callback = str(payload.get("deployment_callback_url") or "")
    installation = payload.get("installation") or {}
    inst_id = installation.get("id") if isinstance(installation, dict) else None
    if not isinstance(inst_id, int):
        inst_id = (
            AppInstallation.objects.filter(repository=repository.lower())
            .values_list("installation_id", flat=True)
            .first()
        )
    request = DeploymentRequest.objects.create(
        delivery=delivery,
        repository=repository[:255],
        environment=str(payload.get("environment") or deployment.get("environment") or "")[:255],
        sha=str(payload.get("sha") or deployment.get("sha") or "").lower()[:64],
        ref=str(payload.get("ref") or deployment.get("ref") or "")[:255],
        run_id=_run_id(callback, payload),
        callback_url=callback[:1000],
        installation_id=inst_id,
        requested_at=timezone.now(),
        state=DeployState.WAITING,
    )
    _decide(request)
    return request


def integration_for(repository: str, environment: str = "") -> Integration | None:
    """The product's GitHub integration of `repository`; of several (one repository, several
    products) the first that gates `environment`."""
    found = list(
        Integration.objects.select_related("product")
        .filter(provider=Provider.GITHUB, active=True, repository__iexact=repository)
        .order_by("slug")
    )
    wanted = environment.casefold()
    gating = [i for i in found if wanted in {e.casefold() for e in i.gated_environments()}]
    chosen = gating or found
    return chosen[0] if chosen else None


def release_with_commit(integration: Integration, sha: str) -> Release | None:
    """The product's newest release whose commit is `sha` (a release may keep a prefix of
    at least 7 characters)."""
    if not sha:
        return None
    prefixes = [sha[:n] for n in range(7, len(sha) + 1)]
    return (
        Release.objects.select_related("product")
        .filter(Q(commit_sha__iexact=sha) | Q(commit_sha__in=prefixes), product=integration.product)
        .order_by("-id")
        .first()
    )


def _judge(request: DeploymentRequest) -> tuple[str, str, Release | None]:
    """("approved" | "rejected" | "" for still waiting, the comment, the release)."""
    integration = integration_for(request.repository, request.environment)
    request.integration = integration
    if integration is None:
        return (
            "rejected",
            f"Go/No-Go: no product is linked to the repository {request.repository}: an admin adds it "
            "as the repository of the product's GitHub integration.",
            None,
        )
    gated = integration.gated_environments()
    if request.environment.casefold() not in {name.casefold() for name in gated}:
        return (
            "rejected",
            f"Go/No-Go: the environment “{request.environment}” is not gated for {integration.product.slug} "
            f"(gated: {', '.join(gated)}). Add it to deploy_environments, or remove the rule from it.",
            None,
        )
    release = release_with_commit(integration, request.sha)
    if release is None:
        return (
            "rejected",
            f"Go/No-Go: no release of {integration.product.slug} has the commit {request.sha[:12] or '(none)'}. "
            "Deploy the commit of a release that is Go.",
            None,
        )
    standing = standing_now(release)
    comment = standing.comment(release.version)
    if standing.go:
        return "approved", comment, release
    if standing.kind == "ready":
        return "", comment, release
    return "rejected", comment, release


def _decide(request: DeploymentRequest) -> None:
    """Judge a waiting request (locked or new, in the caller's transaction); an answer is
    stored and sent after commit."""
    before = (request.release_id, request.comment, request.state)
    integration_before = request.integration_id
    answer, comment, release = _judge(request)
    request.release = release
    request.comment = comment
    fields = ["integration", "release", "comment"]
    if answer:
        request.state = DeployState.ANSWERING
        request.answer = answer
        request.next_attempt_at = timezone.now()
        fields += ["state", "answer", "next_attempt_at"]
        pk = request.pk
        transaction.on_commit(lambda: tasks.deployment_answer_task.delay(pk), robust=True)
    changed = (request.release_id, request.comment, request.state) != before
    if changed or request.integration_id != integration_before:
        request.save(update_fields=fields)  # the 30 s sweep writes nothing for a request that did not move
    if release is not None and changed:
        live_notify(release_id=release.pk, change="decision")


def deployments_reconsider(*, release_id: int | None = None) -> int:
    """Judge the requests still waiting again (those of one release, or all). Returns how
    many got an answer."""
    answered = 0
    with transaction.atomic():
        # A decision's own look waits for a sweep holding a row (its answer must not wait
        # for the next sweep); the sweep skips rows someone else holds.
        waiting = DeploymentRequest.objects.select_for_update(skip_locked=release_id is None).filter(
            state=DeployState.WAITING
        )
        if release_id is not None:
            waiting = waiting.filter(release_id=release_id)
        for request in waiting.order_by("id"):
            _decide(request)
            answered += request.state == DeployState.ANSWERING
    return answered


def _answer_url(request: DeploymentRequest, api_url: str) -> str:
    if request.callback_url and on_api(request.callback_url, api_url):
        return request.callback_url
    if request.run_id is None:
        raise GitHubFailure(
            "The callback address is not on the configured GitHub API (GONOGO_GITHUB_API_URL) and the "
            "workflow run is unknown: nothing was sent."
        )
    return f"{api_url}/repos/{request.repository}/actions/runs/{request.run_id}/deployment_protection_rule"


def deployment_answer_send(*, request_id: int) -> DeploymentRequest:
    """Send a stored answer once (the row stays locked meanwhile; a second run finds it
    sent). Retryable failures come back later with backoff (5 s doubling to 5 minutes),
    for as long as GitHub waits for the answer: a long GitHub outage leaves no deployment
    unanswered."""
    with transaction.atomic():
        request = DeploymentRequest.objects.select_for_update().get(pk=request_id)
        if request.state != DeployState.ANSWERING:
            return request
        if request.answer == "approved":
            # Approved when judged; sent maybe later (a retry, a lost message): only while
            # the Go still stands. Otherwise the answer becomes the rejection it now is.
            answer_now, comment_now, _release = _judge(request)
            if answer_now != "approved":
                request.answer, request.comment = "rejected", comment_now
        settings = app_settings()
        request.attempts += 1
        now = timezone.now()
        try:
            if request.installation_id is None:
                raise GitHubFailure(
                    f"No App installation is known for {request.repository}: install the App on it."
                )
            answer = installation_call(
                "POST",
                _answer_url(request, settings.api_url),
                installation_id=request.installation_id,
                json_body={
                    "environment_name": request.environment,
                    "state": request.answer,
                    "comment": request.comment,
                },
                settings=settings,
            )
        except GitHubFailure as exc:
            request.last_status = exc.status
            request.last_error = str(exc)[:2000]
            if exc.retry and now < request.requested_at + GITHUB_WAITS:
                wait = min(300, 5 * 2 ** (request.attempts - 1))
                request.next_attempt_at = now + timedelta(seconds=wait)
                pk = request.pk
                transaction.on_commit(
                    lambda: tasks.deployment_answer_task.apply_async(args=(pk,), countdown=wait), robust=True
                )
            else:
                request.state = DeployState.FAILED
                request.next_attempt_at = None
                _audit(request, "github.deployment_answer_failed")
        else:
            request.state = DeployState.ANSWERED
            request.last_status = answer.status
            request.last_error = ""
            request.answered_at = now
            request.next_attempt_at = None
            _audit(request, "github.deployment_answered")
        request.save()
        if request.release_id is not None:
            live_notify(release_id=request.release_id, change="decision")
    return request


def _audit(request: DeploymentRequest, action: str) -> None:
    audit_record(
        actor=None,
        actor_label=ACTOR,
        action=action,
        obj=request,
        after={
            "repository": request.repository,
            "environment": request.environment,
            "run_id": request.run_id,
            "sha": request.sha,
            "answer": request.answer,
            "comment": request.comment,
            "error": request.last_error,
        },
        release_id=request.release_id,
    )


def deployments_sweep() -> int:
    """The beat's look: waiting requests judged again (a release that became blocked is
    answered), answers whose message was lost queued again. Returns how many moved."""
    moved = deployments_reconsider()
    lost = DeploymentRequest.objects.filter(
        state=DeployState.ANSWERING, next_attempt_at__lt=timezone.now() - timedelta(seconds=60)
    ).values_list("pk", flat=True)
    for pk in lost:
        tasks.deployment_answer_task.delay(pk)
        moved += 1
    # A delivery whose processing message was lost (the broker away at commit).
    stuck = AppDelivery.objects.filter(
        state=AppDeliveryState.RECEIVED, received_at__lt=timezone.now() - timedelta(seconds=60)
    ).values_list("pk", flat=True)
    for pk in stuck:
        tasks.app_delivery_process_task.delay(pk)
        moved += 1
    return moved
