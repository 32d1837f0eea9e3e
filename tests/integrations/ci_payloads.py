"""The world being polled (a product, its release, a CI gate and an integration) and the
providers' answers, with the field names of GitHub's, GitLab's and Jenkins' APIs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.utils import timezone

from gates.models import Gate
from gates.selectors import gate_current_status
from integrations.models import Integration
from integrations.poll_session import PollSession
from releases.models import Product, Release

from .ci_server import CI, PagedCI, Reply

SHA = "3484a3fb81c4e5d6a7b8c9d0e1f2a3b4c5d6e7f8"


@dataclass
class Setup:
    product: Product
    release: Release
    gate: Gate
    integration: Integration


def setup(
    server: CI,
    provider: str,
    *,
    slug: str = "ios-app",
    repository: str = "acme/ios-app",
    allow_failure_passes: bool = False,
    patterns: dict[str, str] | None = None,
) -> Setup:
    now = timezone.now()
    product = Product.objects.create(slug=slug, name=slug, platform="ios")
    release = Release.objects.create(
        product=product,
        version="2.4.0",
        build_number=1240,
        commit_sha=SHA,
        branch="release/2.4",
        state="candidate",
        state_changed_at=now,
        created_at=now,
    )
    gate = Gate.objects.create(
        key=f"{slug}-e2e",
        name="E2E",
        owner_role="qa",
        evaluation="ci",
        allow_failure_passes=allow_failure_passes,
    )
    gate.products.set([product])
    integration = Integration.objects.create(
        slug=f"{slug}-{provider}",
        provider=provider,
        product=product,
        api_url=server.url,
        repository=repository,
        gate_patterns=patterns or {"e2e*": gate.key},
    )
    return Setup(product, release, gate, integration)


def status_of(s: Setup) -> str | None:
    return gate_current_status(release=s.release, gate=s.gate)


def later(seconds: float) -> PollSession:
    return PollSession(clock=lambda: timezone.now() + timedelta(seconds=seconds))


CHECKS = f"/repos/acme/ios-app/commits/{SHA}/check-runs"


STATUS = f"/repos/acme/ios-app/commits/{SHA}/status"


def check_run(
    status: str = "completed", conclusion: str | None = "success", *, run_id: int = 4
) -> dict[str, Any]:
    return {
        "id": run_id,
        "head_sha": SHA,
        "name": "e2e-ios",
        "status": status,
        "conclusion": conclusion if status == "completed" else None,
        "started_at": "2025-11-27T07:40:00Z",
        "completed_at": "2025-11-27T08:00:00Z" if status == "completed" else None,
        "html_url": f"https://github.com/acme/ios-app/runs/{run_id}",
        "details_url": "https://ci.example/e2e/4",
        "output": {"title": "131 passed", "summary": "", "annotations_count": 0},
        "check_suite": {"id": 5},
        "app": {"id": 1, "slug": "github-actions", "name": "GitHub Actions"},
    }


def check_runs(*runs: dict[str, Any]) -> Reply:
    return Reply(body={"total_count": len(runs), "check_runs": list(runs)})


def combined(*statuses: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "state": statuses[0]["state"] if statuses else "pending",
            "sha": SHA,
            "total_count": len(statuses),
            "statuses": list(statuses),
        }
    )


def commit_status(context: str, state: str, *, status_id: int = 9) -> dict[str, Any]:
    return {
        "id": status_id,
        "state": state,
        "context": context,
        "description": "Build finished",
        "target_url": "https://ci.example/builds/9",
        "created_at": "2025-11-27T07:50:00Z",
        "updated_at": "2025-11-27T07:55:00Z",
    }


def github_server(ci: Callable[..., CI], **kw: Any) -> CI:
    server = ci(**kw)
    server.reply(CHECKS, check_runs(check_run()))
    server.reply(STATUS, combined())
    return server


JOB = "/job/ios-app/api/json"


def jenkins_build(number: int, *, building: bool, result: str | None, sha: str = SHA) -> dict[str, Any]:
    return {
        "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun",
        "number": number,
        "building": building,
        "inProgress": building,
        "result": result,
        "url": f"https://ci.example/job/ios-app/{number}/",
        "timestamp": 1_700_000_000_000,
        "duration": 0 if building else 600_000,
        "actions": [
            {"_class": "hudson.model.CauseAction"},
            {},
            {"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": sha}},
        ],
    }


def jenkins_job(*builds: dict[str, Any]) -> Reply:
    return Reply(
        body={
            "_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob",
            "name": "e2e-ios",
            "builds": list(builds),
        }
    )


PROJECT = "/api/v4/projects/acme%2Fandroid-app"


def gitlab_job(job_id: int, name: str, status: str, *, allow_failure: bool = False) -> dict[str, Any]:
    return {
        "id": job_id,
        "name": name,
        "stage": "test",
        "status": status,
        "ref": "release/2.4",
        "tag": False,
        "allow_failure": allow_failure,
        "created_at": "2025-11-27T07:30:00.000Z",
        "started_at": "2025-11-27T07:31:00.000Z",
        "finished_at": "2025-11-27T07:50:00.000Z" if status in ("success", "failed") else None,
        "web_url": f"https://gitlab.example.com/acme/android-app/-/jobs/{job_id}",
        "pipeline": {"id": 77, "sha": SHA, "ref": "release/2.4", "status": "running"},
    }


def runs(first_id: int, count: int, conclusion: str = "success") -> list[dict[str, Any]]:
    out = []
    for i in range(count):
        run = check_run("completed", conclusion, run_id=first_id + i)
        run["name"] = f"e2e-ios-{first_id + i}"
        out.append(run)
    return out


def github_pages(
    server: PagedCI, path: str, key: str, pages: list[list[dict[str, Any]]], **extra: Any
) -> None:
    total = sum(len(p) for p in pages)
    for number, items in enumerate(pages, start=1):
        headers = {}
        if number < len(pages):
            headers["Link"] = (
                f'<{server.url}{path}?per_page=100&page={number + 1}>; rel="next", '
                f'<{server.url}{path}?per_page=100&page={len(pages)}>; rel="last"'
            )
        body = {"total_count": total, key: items, **extra}
        server.reply(f"{path}?page={number}", Reply(body=body, headers=headers))
