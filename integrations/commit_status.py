"""The `gonogo` commit status on a release's commit, posted by the GitHub App
(docs/github-app.md): `success` only while a Go stands, `failure` otherwise with the words
why ("3 blockers: …", "Ready: waiting for the Go call"), linking to the board. Branch
protection can require it.

What GitHub should show is a row per release and commit (`CommitStatusPost`): refreshed
when the release's standing may have changed (its events, apps.py) and by a sweep over
active releases of repositories the App is installed on; it is posted only when the state
or the description changed. A post is sent after commit by a task; 5xx and timeouts are
retried with backoff, a 4xx is recorded with GitHub's message (and posted again only when
what should be shown changes).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from live.services import live_notify
from releases.models import ACTIVE_STATES, Release

from . import tasks  # the tasks module imports this one: read at call time
from .gh_standing import standing_now
from .github_app import GitHubFailure, app_settings, installation_call
from .models import AppInstallation, CommitStatusPost, Integration, Provider

CONTEXT = "gonogo"
MAX_ATTEMPTS = 8
GAVE_UP_RETRY = timedelta(minutes=5)  # a post that gave up is tried again this often


def app_repository(release: Release) -> tuple[str, int] | None:
    """(owner/name, installation id) of the product's GitHub repository, when the App is
    installed on it."""
    repositories = [
        r.lower()
        for r in Integration.objects.filter(
            product_id=release.product_id, provider=Provider.GITHUB, active=True
        )
        .exclude(repository="")
        .values_list("repository", flat=True)
    ]
    if not repositories:
        return None
    installed = dict(
        AppInstallation.objects.filter(repository__in=repositories).values_list(
            "repository", "installation_id"
        )
    )
    for repository in repositories:
        if repository in installed:
            return repository, installed[repository]
    return None


def commit_status_refresh(*, release: Release) -> CommitStatusPost | None:
    """Work out what the status should say now; when it differs from what GitHub was told,
    post it (after commit). Returns the row, or None when the release has no commit or its
    repository no App."""
    if not release.commit_sha or not app_settings().configured:
        return None
    target = app_repository(release)
    if target is None:
        return None
    standing = standing_now(release)
    state = "success" if standing.go else "failure"
    description = standing.description()
    now = timezone.now()
    with transaction.atomic():
        post, _created = CommitStatusPost.objects.select_for_update().get_or_create(
            release=release,
            sha=release.commit_sha,
            defaults={"repository": target[0], "state": state, "description": description, "updated_at": now},
        )
        changed = (post.state, post.description, post.repository) != (
            state,
            description,
            target[0],
        ) or _created
        if changed:
            post.repository = target[0]
            post.state = state
            post.description = description
            post.target_url = standing.link[:1000]
            post.attempts = 0
            post.next_attempt_at = now if post.due else None
            post.updated_at = now
            post.save()
            if post.due:
                pk = post.pk
                transaction.on_commit(lambda: tasks.commit_status_task.delay(pk), robust=True)
    return post


def commit_status_send(*, post_id: int) -> CommitStatusPost:
    """Post the wanted status once (locked meanwhile; nothing when GitHub already shows it)."""
    with transaction.atomic():
        post = CommitStatusPost.objects.select_for_update().select_related("release").get(pk=post_id)
        if not post.due or post.next_attempt_at is None:
            return post
        settings = app_settings()
        installation = (
            AppInstallation.objects.filter(repository=post.repository)
            .values_list("installation_id", flat=True)
            .first()
        )
        post.attempts += 1
        now = timezone.now()
        try:
            if installation is None:
                raise GitHubFailure(f"The App is no longer installed on {post.repository}.")
            answer = installation_call(
                "POST",
                f"{settings.api_url}/repos/{post.repository}/statuses/{post.sha}",
                installation_id=installation,
                json_body={
                    "state": post.state,
                    "context": CONTEXT,
                    "description": post.description,
                    "target_url": post.target_url,
                },
                settings=settings,
            )
        except GitHubFailure as exc:
            post.last_status = exc.status
            post.last_error = str(exc)[:2000]
            if exc.retry and post.attempts < MAX_ATTEMPTS:
                wait = min(300, 5 * 2 ** (post.attempts - 1))
                post.next_attempt_at = now + timedelta(seconds=wait)
                pk = post.pk
                transaction.on_commit(
                    lambda: tasks.commit_status_task.apply_async(args=(pk,), countdown=wait), robust=True
                )
            else:
                post.next_attempt_at = None  # tried again only when the status to show changes
        else:
            before = {"state": post.posted_state, "description": post.posted_description}
            post.posted_state = post.state
            post.posted_description = post.description
            post.posted_at = now
            post.last_status = answer.status
            post.last_error = ""
            post.next_attempt_at = None
            audit_record(
                actor=None,
                actor_label="github-app",
                action="github.commit_status_posted",
                obj=post,
                before=before,
                after={"state": post.state, "description": post.description, "sha": post.sha},
                release_id=post.release_id,
            )
        post.save()
        live_notify(release_id=post.release_id, change="decision")
    return post


def commit_statuses_sweep() -> int:
    """Refresh the status of every active release of a repository the App is installed
    on (posting only what changed); queue again posts whose message was lost. Returns how
    many releases were looked at."""
    if not app_settings().configured:
        return 0
    installed = list(AppInstallation.objects.values_list("repository", flat=True))
    if not installed:
        return 0
    product_ids = set()
    for integration in Integration.objects.filter(provider=Provider.GITHUB, active=True).exclude(
        repository=""
    ):
        if integration.repository.lower() in installed:
            product_ids.add(integration.product_id)
    releases = list(
        Release.objects.select_related("product")
        .filter(product_id__in=product_ids, state__in=ACTIVE_STATES)
        .exclude(commit_sha="")
    )
    for release in releases:
        commit_status_refresh(release=release)
    now = timezone.now()
    lost = CommitStatusPost.objects.filter(next_attempt_at__lt=now - timedelta(seconds=60)).values_list(
        "pk", flat=True
    )
    for pk in lost:
        tasks.commit_status_task.delay(pk)
    # A post that gave up (a 4xx, or its retries spent) while GitHub still shows an older
    # status (a `success` the Go no longer earns): tried again every GAVE_UP_RETRY.
    gave_up = (
        CommitStatusPost.objects.filter(next_attempt_at__isnull=True, updated_at__lt=now - GAVE_UP_RETRY)
        .exclude(state=F("posted_state"), description=F("posted_description"))
        .values_list("pk", flat=True)
    )
    for pk in gave_up:
        CommitStatusPost.objects.filter(pk=pk).update(attempts=0, next_attempt_at=now, updated_at=now)
        tasks.commit_status_task.delay(pk)
    return len(releases)
