"""GitHub App webhook payloads for the tests, in the shape GitHub sends.

`OCTOKIT_REQUESTED` follows octokit's published example of `deployment_protection_rule`
(`requested`) (octokit/webhooks.net, test/Octokit.Webhooks.Test/Resources/
deployment_protection_rule/requested.payload.json, from octokit/webhooks' payload
examples): the same keys and values where they matter here — `environment`, `event`, a
`deployment_callback_url` that is not on api.github.com, the commit and ref only inside
`deployment`, no `installation` — with the long URL lists of the users and repositories
left out. `requested()` builds what GitHub sends for a workflow run: the same shape plus
the `installation`, `sha`, `ref` and a callback URL on the API.
"""

from __future__ import annotations

import copy
from typing import Any

CODERTOCAT = {
    "login": "Codertocat",
    "id": 21031067,
    "node_id": "MDQ6VXNlcjIxMDMxMDY3",
    "url": "https://api.github.com/users/Codertocat",
    "html_url": "https://github.com/Codertocat",
    "type": "User",
    "site_admin": False,
}

OCTOKIT_REQUESTED: dict[str, Any] = {
    "action": "requested",
    "environment": "my-environment",
    "event": "my-event",
    "deployment_callback_url": "https://github.local/deploy-the-thing",
    "deployment": {
        "url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746",
        "id": 145988746,
        "node_id": "MDEwOkRlcGxveW1lbnQxNDU5ODg3NDY=",
        "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        "ref": "master",
        "task": "deploy",
        "payload": {},
        "original_environment": "production",
        "environment": "production",
        "description": None,
        "creator": CODERTOCAT,
        "created_at": "2019-05-15T15:20:53Z",
        "updated_at": "2019-05-15T15:20:53Z",
        "statuses_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments/145988746/statuses",
        "repository_url": "https://api.github.com/repos/Codertocat/Hello-World",
    },
    "pull_requests": [
        {
            "url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2",
            "id": 279147437,
            "number": 2,
            "state": "open",
            "title": "Update the README with new information.",
            "user": CODERTOCAT,
            "head": {
                "label": "Codertocat:changes",
                "ref": "changes",
                "sha": "ec26c3e57ca3a959ca5aad62de7213c562f8c821",
            },
            "base": {
                "label": "Codertocat:master",
                "ref": "master",
                "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
            },
        }
    ],
    "repository": {
        "id": 186853002,
        "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=",
        "name": "Hello-World",
        "full_name": "Codertocat/Hello-World",
        "private": False,
        "owner": CODERTOCAT,
        "html_url": "https://github.com/Codertocat/Hello-World",
        "url": "https://api.github.com/repos/Codertocat/Hello-World",
        "deployments_url": "https://api.github.com/repos/Codertocat/Hello-World/deployments",
        "default_branch": "master",
        "visibility": "public",
    },
    "sender": CODERTOCAT,
}


def requested(
    *,
    api: str,
    repository: str,
    sha: str,
    environment: str = "production",
    run_id: int = 123,
    installation: int | None = 77,
    ref: str = "refs/heads/release/1.0.0",
    callback: str | None = None,
) -> dict[str, Any]:
    payload = copy.deepcopy(OCTOKIT_REQUESTED)
    owner, name = repository.split("/")
    payload["environment"] = environment
    payload["event"] = "push"
    payload["sha"] = sha
    payload["ref"] = ref
    payload["deployment"]["sha"] = sha
    payload["deployment"]["ref"] = ref
    payload["deployment"]["environment"] = environment
    payload["deployment_callback_url"] = (
        callback
        if callback is not None
        else f"{api}/repos/{repository}/actions/runs/{run_id}/deployment_protection_rule"
    )
    payload["repository"].update(
        {"name": name, "full_name": repository, "owner": {**CODERTOCAT, "login": owner}}
    )
    if installation is not None:
        payload["installation"] = {"id": installation, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc="}
    return payload


def installation_created(*, installation: int, repositories: list[str]) -> dict[str, Any]:
    """`installation` (`created`): the installation and the repositories it was given."""
    return {
        "action": "created",
        "installation": {"id": installation, "account": CODERTOCAT, "repository_selection": "selected"},
        "repositories": [
            {"id": 1000 + i, "name": r.split("/")[1], "full_name": r, "private": True}
            for i, r in enumerate(repositories)
        ],
        "sender": CODERTOCAT,
    }
