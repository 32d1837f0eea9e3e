"""GitLab: webhooks carrying X-Gitlab-Token; Pipeline Hook and Job Hook, mapped at job
level. Polling reads the commit's newest pipeline and its jobs."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from .base import Observation, items, text, timestamp

if TYPE_CHECKING:
    from integrations.models import Integration
    from integrations.poll_session import PollSession
    from releases.models import Release

EVENTS = frozenset({"Pipeline Hook", "Job Hook"})

# CONTRACT §3, status vocabulary.
STATUS = {
    "created": "pending",
    "waiting_for_resource": "pending",
    "preparing": "pending",
    "pending": "pending",
    "scheduled": "pending",
    "manual": "pending",
    "waiting_for_callback": "pending",
    "running": "running",
    "success": "passed",
    "failed": "failed",
    "canceled": "error",
    "canceling": "error",
    "skipped": "skipped",
}


def status_of(status: Any) -> str:
    """Our status for a GitLab job or pipeline status; unknown words count as an error."""
    return STATUS.get(status, "error") if isinstance(status, str) else "error"


def authenticate(integration: Integration, headers: Mapping[str, str], body: bytes) -> bool:
    secret = integration.secret()
    given = headers.get("X-Gitlab-Token", "")
    if not secret or not given:
        return False
    return hmac.compare_digest(secret.encode(), given.encode())


def event_of(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    return headers.get("X-Gitlab-Event", "")[:50]


def delivery_key(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    key = headers.get("Idempotency-Key", "")
    if key:
        return key[:200]
    uuid = headers.get("X-Gitlab-Event-UUID", "")
    if not uuid:
        return ""
    attributes = payload.get("object_attributes")
    object_id = (attributes or {}).get("id") if isinstance(attributes, Mapping) else payload.get("build_id")
    return f"{uuid}/{object_id}"[:200]


def _job(job: Mapping[str, Any], *, sha: str, branch: str, pipeline_url: str) -> Observation:
    status = text(job.get("status"), 50) or text(job.get("build_status"), 50)
    finished = job.get("finished_at", job.get("build_finished_at"))
    started = job.get("started_at", job.get("build_started_at"))
    created = job.get("created_at", job.get("build_created_at"))
    job_id = job.get("id", job.get("build_id"))
    return Observation(
        name=text(job.get("name"), 200) or text(job.get("build_name"), 200),
        status=status_of(status),
        sha=sha,
        branch=branch,
        run_id=f"job/{job_id}",
        url=pipeline_url,
        summary=text(job.get("stage"), 100) or text(job.get("build_stage"), 100),
        group=text(job.get("stage"), 100) or text(job.get("build_stage"), 100),
        observed_at=timestamp(finished) or timestamp(started) or timestamp(created),
        allow_failure=job.get("allow_failure", job.get("build_allow_failure")) is True,
    )


def observations(event: str, payload: Mapping[str, Any]) -> list[Observation]:
    if event == "Job Hook":
        repository = payload.get("repository")
        homepage = text(repository.get("homepage"), 800) if isinstance(repository, Mapping) else ""
        url = f"{homepage}/-/jobs/{payload.get('build_id')}" if homepage else ""
        return [
            _job(
                payload,
                sha=text(payload.get("sha"), 64),
                branch=text(payload.get("ref"), 255),
                pipeline_url=url,
            )
        ]
    if event == "Pipeline Hook":
        attributes = payload.get("object_attributes")
        if not isinstance(attributes, Mapping):
            return []
        sha = text(attributes.get("sha"), 64)
        branch = "" if attributes.get("tag") else text(attributes.get("ref"), 255)
        url = text(attributes.get("url"), 1000)
        if not url:
            project = payload.get("project")
            web = text(project.get("web_url"), 800) if isinstance(project, Mapping) else ""
            url = f"{web}/-/pipelines/{attributes.get('id')}" if web else ""
        builds = items(payload.get("builds"))
        return [_job(b, sha=sha, branch=branch, pipeline_url=url) for b in builds if isinstance(b, Mapping)]
    return []


# Polling -----------------------------------------------------------------------------


_RESOLVED: dict[tuple[int, str, str], str] = {}


def _full_sha(
    session: PollSession, integration: Integration, release: Release, base: str, headers: dict[str, str]
) -> str:
    """The release's commit in full. GitLab's `pipelines?sha=` matches only a full SHA, so
    an abbreviated one is looked up first (`/repository/commits/:sha`); '' when GitLab does
    not know it (noted in the log)."""
    sha = release.commit_sha.lower()
    if len(sha) == 40:
        return sha
    key = (integration.pk, base, sha)
    if key in _RESOLVED:  # a commit's full SHA never changes: asked once per worker
        return _RESOLVED[key]
    commit = session.get_json(
        integration, f"{base}/repository/commits/{sha}", headers=headers, conditional=False
    )
    full = text(commit.get("id"), 64).lower() if isinstance(commit, Mapping) else ""
    if full.startswith(sha) and len(full) >= len(sha):
        if len(_RESOLVED) > 10_000:
            _RESOLVED.clear()
        _RESOLVED[key] = full
        return full
    if session.last_status == 404:
        session.note(integration, release, f"GitLab does not know commit {release.commit_sha}")
    return ""


def poll(session: PollSession, integration: Integration, release: Release) -> list[Observation]:
    """The jobs (latest attempt each, every page) of the newest pipeline for the release
    commit, with the same run ids as the Job Hook (`job/<id>`). [] when the commit has no
    pipeline or its jobs did not change since the last poll. From a job list that could not
    be read to its end, no "passed" is taken."""
    project = quote(unquote(integration.repository.strip()), safe="")
    base = f"{integration.api_url.rstrip('/')}/api/v4/projects/{project}"
    token = integration.api_token()
    headers = {"PRIVATE-TOKEN": token} if token else {}
    sha = _full_sha(session, integration, release, base, headers)
    if not sha:
        return []
    # Not conditional: a running pipeline's entry stays the same while its jobs finish
    # one by one, so a 304 here would hide them.
    pipelines = session.get_json(
        integration,
        f"{base}/pipelines?sha={sha}&order_by=id&sort=desc&per_page=1",
        headers=headers,
        conditional=False,
    )
    if not isinstance(pipelines, list) or not pipelines or not isinstance(pipelines[0], Mapping):
        return []
    pipeline = pipelines[0]
    jobs = session.get_pages(
        integration,
        f"{base}/pipelines/{pipeline.get('id')}/jobs?per_page=100&include_retried=false",
        headers=headers,
    )
    pipeline_sha = text(pipeline.get("sha"), 64) or sha
    found = []
    for job in jobs.items:
        if not isinstance(job, Mapping):
            continue
        branch = "" if job.get("tag") else text(job.get("ref"), 255) or text(pipeline.get("ref"), 255)
        found.append(_job(job, sha=pipeline_sha, branch=branch, pipeline_url=text(job.get("web_url"), 1000)))
    if not jobs.complete:
        found = [o for o in found if o.status != "passed"]
    return [o for o in found if o.name]
