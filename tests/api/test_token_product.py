"""A token asking about a product that is not its own gets one answer, whether that
product exists or not (issue 11, item 9): 403 `token_product`, the same body, so a
token cannot probe which products exist. Over every endpoint that names a product."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from integrations.tokens import token_issue
from releases.models import Product

from ..releases.builders import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user: Any) -> Any:
    w: Any = build_world(make_user, ready=True)
    Product.objects.create(slug="other-app", name="Other", platform="android")
    w.token = token_issue(name="ci", product=w.product, scopes=["results", "verdict", "metrics"])[1]
    return w


def ask(client: Client, token: str, endpoint: str, product: str, version: str) -> Any:
    auth = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/releases/{product}/{version}"
    bodies = {
        "results": (
            "/api/v1/results",
            {"product": product, "version": version, "gate": "g", "status": "passed"},
        ),
        "releases": ("/api/v1/releases", {"product": product, "version": "9.9.9", "build": 99999}),
        "health": (f"{base}/health", {"error_rate": 0.001, "p95_latency_ms": 100, "rate_429": 0.0}),
        "defects": (f"{base}/defects", {"title": "Crash", "severity": "minor"}),
    }
    if endpoint in bodies:
        url, body = bodies[endpoint]
        return client.post(url, json.dumps(body), content_type="application/json", headers=auth)
    return client.get(base if endpoint == "release" else f"{base}/{endpoint}", headers=auth)


@pytest.mark.parametrize("endpoint", ["results", "releases", "release", "verdict", "health", "defects"])
def test_unknown_and_another_products_get_the_same_answer(client: Client, world: Any, endpoint: str) -> None:
    version = world.release.version
    other = ask(client, world.token, endpoint, "other-app", version)
    unknown = ask(client, world.token, endpoint, "no-such-app", version)
    assert other.status_code == unknown.status_code == 403, (other.content, unknown.content)
    assert other["Content-Type"] == unknown["Content-Type"] == "application/problem+json"
    assert other.json() == unknown.json()
    problem = other.json()
    assert problem["code"] == "token_product"
    assert f"This token is for product {world.product.slug}" in problem["detail"]
    assert problem["errors"] == [{"field": "product", "message": problem["detail"]}]


def test_the_tokens_own_product_still_answers(client: Client, world: Any) -> None:
    response = ask(client, world.token, "verdict", world.product.slug, world.release.version)
    assert response.status_code == 200
    missing = ask(client, world.token, "verdict", world.product.slug, "7.7.7")
    assert (missing.status_code, missing.json()["code"]) == (404, "unknown_release")


def test_the_schema_says_so(client: Client) -> None:
    schema = client.get("/api/v1/openapi.json").json()
    verdict = schema["paths"]["/api/v1/releases/{product}/{version}/verdict"]["get"]["responses"]
    assert "no product at all: the same answer" in verdict["403"]["description"]
    assert "503" in verdict
