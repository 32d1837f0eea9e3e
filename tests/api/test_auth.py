"""Every API endpoint: no token → 401, unknown or revoked token → 401, a token without the
scope → 403, a token for another product → 403. Webhooks authenticate with the
provider's own scheme (tests/integrations/test_webhooks.py); health checks are open.

`API_ENDPOINTS` and `OPEN_ENDPOINTS` are part of the permission matrix walk in
tests/test_views.py: a new API URL without a row here fails that test.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from board.lifecycle import release_create

RELEASE = {"product": "ios-app", "version": "2.4.0"}

# url name → (method, URL kwargs, body, scope)
API_ENDPOINTS: dict[str, tuple[str, dict[str, str], dict[str, Any] | None, str]] = {
    "api:results_create": (
        "post",
        {},
        {"product": "ios-app", "version": "2.4.0", "gate": "contract", "status": "passed"},
        "results",
    ),
    "api:releases_create": ("post", {}, {"product": "ios-app", "version": "2.4.1", "build": 1250}, "results"),
    "api:release_detail": ("get", RELEASE, None, "verdict"),
    "api:release_verdict": ("get", RELEASE, None, "verdict"),
    "api:release_health": ("post", RELEASE, {"error_rate": 0.001}, "metrics"),
    "api:release_defects": ("post", RELEASE, {"title": "Crash", "severity": "minor"}, "results"),
    # A draft (made by the test below): tests/api/test_promote.py.
    "api:release_promote": ("post", {"product": "ios-app", "version": "2.5.0"}, {}, "results"),
}
OPEN_ENDPOINTS = {
    "api:openapi",
    "api:webhook_github",
    "api:webhook_github_app",
    "api:webhook_gitlab",
    "healthz",
    "readyz",
}


def call(client: Client, name: str, token: str | None) -> Any:
    method, kwargs, body, _scope = API_ENDPOINTS[name]
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    url = reverse(name, kwargs=kwargs)
    if method == "post":
        return client.post(url, json.dumps(body), content_type="application/json", **headers)
    return client.get(url, **headers)


@pytest.mark.parametrize("name", sorted(API_ENDPOINTS))
def test_token_and_scope_checked(client: Client, ci_world: Any, name: str) -> None:
    if name == "api:release_promote":
        release_create(product=ci_world.product, version="2.5.0", build=1300, commit="a" * 40)
    scope = API_ENDPOINTS[name][3]
    others = [s for s in ("results", "verdict", "metrics") if s != scope]
    refusals = {
        "no token": (None, 401),
        "unknown token": ("gng_not-a-real-token", 401),
        "not a bearer": ("", 401),
        "wrong scope": (ci_world.token(*others), 403),
        "other product": (ci_world.token(scope, product_=ci_world.other), 403),
    }
    for why, (token, status) in refusals.items():
        response = call(client, name, token)
        assert response.status_code == status, why
        assert response["Content-Type"] == "application/problem+json", why
    response = call(client, name, ci_world.token(scope))
    assert response.status_code in (200, 201, 202), response.content


def test_wrong_method_is_a_405_problem(client: Client, ci_world: Any) -> None:
    response = client.get("/api/v1/results")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"


def test_unknown_api_path_is_a_404_problem(client: Client, db: Any) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
