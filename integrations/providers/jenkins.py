"""Jenkins: polled through `api/json?tree=…` (Jenkins has no standard webhook).

The integration's `api_url` is the job's URL (`https://ci.example/job/ios-app`), or a
Jenkins URL with the job's path (`job/mobile/job/ios-app`) in `repository`. The API token
is `user:token`, sent as HTTP Basic. A build belongs to the release when the Git plugin's
`lastBuiltRevision` is the release's commit; the check name is the job's name.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from releases.models import same_commit

from .base import Observation, text, timestamp

if TYPE_CHECKING:
    from integrations.models import Integration
    from integrations.poll_session import PollSession
    from releases.models import Release

# CONTRACT §3, status vocabulary (a build's `result`; `building: true` is running).
STATUS = {
    "SUCCESS": "passed",
    "FAILURE": "failed",
    "UNSTABLE": "failed",
    "ABORTED": "error",
    "NOT_BUILT": "skipped",
}

TREE = "name,builds[number,result,building,inProgress,url,timestamp,duration,actions[lastBuiltRevision[SHA1]]]{0,30}"


def status_of(build: Mapping[str, Any]) -> str:
    """Our status for a build: running while it builds, pending before it has a result,
    then its result; an unknown result counts as an error."""
    if build.get("building") is True or build.get("inProgress") is True:
        return "running"
    result = build.get("result")
    if result is None:
        return "pending"
    return STATUS.get(result, "error") if isinstance(result, str) else "error"


def _revisions(build: Mapping[str, Any]) -> set[str]:
    # A pipeline that loads shared libraries carries one BuildData per repository.
    revisions = set()
    for action in build.get("actions") or []:
        revision = action.get("lastBuiltRevision") if isinstance(action, Mapping) else None
        if isinstance(revision, Mapping) and isinstance(revision.get("SHA1"), str):
            revisions.add(revision["SHA1"].lower())
    return revisions


def poll(session: PollSession, integration: Integration, release: Release) -> list[Observation]:
    """The job's last 30 builds of the release commit, run id `jenkins/<number>`. []
    when none built that commit."""
    url = integration.api_url.rstrip("/")
    if integration.repository.strip("/"):
        url = f"{url}/{integration.repository.strip('/')}"
    token = integration.api_token()
    headers = {}
    if ":" in token:
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    job = session.get_json(integration, f"{url}/api/json?{urlencode({'tree': TREE})}", headers=headers)
    if not isinstance(job, Mapping):
        return []
    name = text(job.get("name"), 200)
    found = []
    for build in job.get("builds") or []:
        if not isinstance(build, Mapping):
            continue
        # An abbreviated release commit matches as the webhooks match it (either way).
        revision = next((r for r in _revisions(build) if same_commit(r, release.commit_sha)), None)
        if revision is None:
            continue
        status = status_of(build)
        at = build.get("timestamp")  # epoch ms when it started
        duration = build.get("duration")
        if status not in ("running", "pending") and isinstance(at, int) and isinstance(duration, int):
            at += duration
        found.append(
            Observation(
                name=name,
                status=status,
                sha=revision,
                run_id=f"jenkins/{build.get('number')}",
                url=text(build.get("url"), 1000),
                observed_at=timestamp(at),
            )
        )
    return found if name else []
