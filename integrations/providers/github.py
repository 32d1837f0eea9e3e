"""GitHub: webhooks signed with X-Hub-Signature-256; check runs, check suites, workflow
runs and jobs, and commit statuses. Polling reads check runs and the combined status."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .base import Observation, items, number, text, timestamp

if TYPE_CHECKING:
    from integrations.models import Integration
    from integrations.poll_session import PollSession
    from releases.models import Release

EVENTS = frozenset({"ping", "check_run", "check_suite", "workflow_run", "workflow_job", "status"})

# CONTRACT §3, status vocabulary.
STATUS = {
    "queued": "pending",
    "requested": "pending",
    "waiting": "pending",
    "pending": "pending",
    "in_progress": "running",
    "success": "passed",
    "failure": "failed",
    "action_required": "failed",
    "timed_out": "error",
    "cancelled": "error",
    "stale": "error",
    "error": "error",
    "skipped": "skipped",
    "neutral": "skipped",
}


def status_of(status: Any, conclusion: Any = None) -> str:
    """Our status for a GitHub status (and conclusion, once completed). Anything unknown
    counts as an error: it must never read as passed."""
    if status == "completed":
        return STATUS.get(conclusion, "error") if isinstance(conclusion, str) else "error"
    return STATUS.get(status, "pending") if isinstance(status, str) else "pending"


def authenticate(integration: Integration, headers: Mapping[str, str], body: bytes) -> bool:
    secret = integration.secret()
    given = headers.get("X-Hub-Signature-256", "")
    if not secret or not given.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def event_of(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    return headers.get("X-GitHub-Event", "")[:50]


def delivery_key(headers: Mapping[str, str], payload: Mapping[str, Any]) -> str:
    return headers.get("X-GitHub-Delivery", "")[:200]


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


_ACTIONS_JOB = re.compile(r"/actions/runs/(\d+)/job/\d+")


def _check_run_group(run: Mapping[str, Any]) -> str:
    """What a check run belongs to. A check run carries no workflow name, but one made by
    GitHub Actions links its workflow run (`…/actions/runs/<id>/job/<job>`): jobs of the
    same name in two workflows are then two jobs, and a re-run (same workflow run, next
    attempt) still replaces its own. Other apps' check runs are known by name alone."""
    for key in ("details_url", "html_url"):
        match = _ACTIONS_JOB.search(text(run.get(key), 1000))
        if match:
            return f"run {match.group(1)}"
    return ""


def observations(event: str, payload: Mapping[str, Any]) -> list[Observation]:
    if event == "check_run":
        run = _dict(payload.get("check_run"))
        status = status_of(run.get("status"), run.get("conclusion"))
        return [
            Observation(
                name=text(run.get("name"), 200),
                status=status,
                sha=text(run.get("head_sha"), 64),
                branch=text(_dict(run.get("check_suite")).get("head_branch"), 255),
                run_id=f"check_run/{run.get('id')}",
                url=text(run.get("html_url"), 1000) or text(run.get("details_url"), 1000),
                summary=text(_dict(run.get("output")).get("title")),
                observed_at=timestamp(run.get("completed_at") if run.get("status") == "completed" else None)
                or timestamp(run.get("started_at")),
                group=_check_run_group(run),
            )
        ]
    if event == "check_suite":
        suite = _dict(payload.get("check_suite"))
        app = _dict(suite.get("app"))
        return [
            Observation(
                name=text(app.get("name"), 200) or text(app.get("slug"), 200),
                status=status_of(suite.get("status"), suite.get("conclusion")),
                sha=text(suite.get("head_sha"), 64),
                branch=text(suite.get("head_branch"), 255),
                run_id=f"check_suite/{suite.get('id')}",
                observed_at=timestamp(suite.get("updated_at")),
            )
        ]
    if event == "workflow_run":
        run = _dict(payload.get("workflow_run"))
        name = text(run.get("name"), 200) or text(_dict(payload.get("workflow")).get("name"), 200)
        return [
            Observation(
                name=name,
                status=status_of(run.get("status"), run.get("conclusion")),
                sha=text(run.get("head_sha"), 64),
                branch=text(run.get("head_branch"), 255),
                run_id=f"workflow_run/{run.get('id')}",
                attempt=number(run.get("run_attempt")),
                url=text(run.get("html_url"), 1000),
                summary=text(run.get("display_title")),
                observed_at=timestamp(run.get("updated_at")) or timestamp(run.get("run_started_at")),
            )
        ]
    if event == "workflow_job":
        job = _dict(payload.get("workflow_job"))
        workflow = text(job.get("workflow_name"), 200)
        name = text(job.get("name"), 200)
        return [
            Observation(
                name=name,
                status=status_of(job.get("status"), job.get("conclusion")),
                sha=text(job.get("head_sha"), 64),
                branch=text(job.get("head_branch"), 255),
                run_id=f"workflow_job/{job.get('id')}",
                attempt=number(job.get("run_attempt")),
                url=text(job.get("html_url"), 1000),
                summary=f"{workflow} / {name}" if workflow else name,
                group=workflow,
                observed_at=timestamp(job.get("completed_at") if job.get("status") == "completed" else None)
                or timestamp(job.get("started_at"))
                or timestamp(job.get("created_at")),
            )
        ]
    if event == "status":
        branches = [text(_dict(b).get("name"), 255) for b in items(payload.get("branches"))]
        state = payload.get("state")
        return [
            Observation(
                name=text(payload.get("context"), 200),
                status=STATUS.get(state, "error") if isinstance(state, str) else "error",
                sha=text(payload.get("sha"), 64),
                branch=branches[0] if len(branches) == 1 else "",
                run_id=f"status/{payload.get('id')}",
                url=text(payload.get("target_url"), 1000),
                summary=text(payload.get("description")),
                observed_at=timestamp(payload.get("updated_at")) or timestamp(payload.get("created_at")),
            )
        ]
    return []


# Polling -----------------------------------------------------------------------------


def _api_headers(integration: Integration) -> dict[str, str]:
    headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
    token = integration.api_token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def poll(session: PollSession, integration: Integration, release: Release) -> list[Observation]:
    """The release commit's check runs (the newest of each name) and its combined status,
    every page of each (100 a page), with the same run ids as the webhooks
    (`check_run/<id>`, `status/<id>`). [] when nothing changed since the last poll. From
    a listing that could not be read to its end, no "passed" is taken: the page not read
    may hold the failure. GitHub takes an abbreviated commit as it is."""
    base = f"{integration.api_url.rstrip('/')}/repos/{integration.repository.strip('/')}/commits/{release.commit_sha}"
    headers = _api_headers(integration)
    found: list[Observation] = []
    checks = session.get_pages(
        integration, f"{base}/check-runs?per_page=100", headers=headers, key="check_runs"
    )
    unknown = session.last_status in (404, 422)
    checked: list[Observation] = []
    for run in map(_dict, checks.items):
        checked.append(
            Observation(
                name=text(run.get("name"), 200),
                status=status_of(run.get("status"), run.get("conclusion")),
                sha=text(run.get("head_sha"), 64) or release.commit_sha,
                run_id=f"check_run/{run.get('id')}",
                url=text(run.get("html_url"), 1000) or text(run.get("details_url"), 1000),
                summary=text(_dict(run.get("output")).get("title")),
                observed_at=timestamp(run.get("completed_at") if run.get("status") == "completed" else None)
                or timestamp(run.get("started_at")),
                group=_check_run_group(run),
            )
        )
    found += checked if checks.complete else [o for o in checked if o.status != "passed"]
    combined = session.get_pages(integration, f"{base}/status?per_page=100", headers=headers, key="statuses")
    unknown = unknown and session.last_status in (404, 422)
    sha = text(_dict(combined.first).get("sha"), 64) or release.commit_sha
    statuses: list[Observation] = []
    for entry in map(_dict, combined.items):
        state = entry.get("state")
        statuses.append(
            Observation(
                name=text(entry.get("context"), 200),
                status=STATUS.get(state, "error") if isinstance(state, str) else "error",
                sha=sha,
                run_id=f"status/{entry.get('id')}",
                url=text(entry.get("target_url"), 1000),
                summary=text(entry.get("description")),
                observed_at=timestamp(entry.get("updated_at")) or timestamp(entry.get("created_at")),
            )
        )
    found += statuses if combined.complete else [o for o in statuses if o.status != "passed"]
    if unknown:
        session.note(integration, release, f"GitHub does not know commit {release.commit_sha}")
    return [o for o in found if o.name]
