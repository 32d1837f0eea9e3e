"""The API fuzzed from its own OpenAPI document (schemathesis, bounded): no 5xx, and every
response matches the schema: status codes, content types and bodies."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from gonogo.wsgi import application
from integrations.inbox import deliveries_drain
from integrations.models import Delivery

with override_settings(ALLOWED_HOSTS=["localhost"]):  # schemathesis calls the app as "localhost"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
# A NUL character is refused by design (400 nul_character, tests/test_input.py): valid JSON,
# but not text the API takes.
schema.config.generation.update(allow_x00=False)
# The API answers 400 for a rule of the domain that well-formed data can break (a build
# not above the product's last, resolving a defect it does not know); such data must
# still never be refused as malformed (the check below).
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "400",
]
MALFORMED = {"invalid_json", "invalid_fields", "nul_character"}


@schemathesis.check
def valid_data_is_never_called_malformed(ctx: Any, response: Any, case: Any) -> bool | None:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return None
    code = response.json().get("code")
    if code in MALFORMED:
        raise AssertionError(f"Data the schema allows was refused as {code}: {response.text[:500]}")
    return None


def test_schema_is_openapi_3_1_and_lists_every_api_url(client: Any) -> None:
    from tests.test_views import all_url_names

    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    api_names = {n.split(":", 1)[1] for n in all_url_names() if n.startswith("api:")}
    assert {n.replace("webhook_", "webhook_") for n in api_names} <= operations | {"openapi"}
    assert {"healthz", "readyz"} <= operations


def test_the_fuzzing_covers_every_operation_of_the_document(client: Any) -> None:
    """Every operation the document lists is fuzzed below: results, releases, the release
    and its verdict, health, defects, both webhooks, /healthz, /readyz (the document itself
    is read by every run, and checked above)."""
    document = client.get("/api/v1/openapi.json").json()
    listed = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    fuzzed = {result.ok().definition.raw["operationId"] for result in schema.get_all_operations()}
    assert fuzzed == listed - {"openapi"}  # schemathesis leaves out the document it was read from
    assert {"results_create", "releases_create", "release_detail", "release_verdict", "release_health",
            "release_defects", "webhook_github", "webhook_gitlab", "healthz", "readyz"} <= fuzzed  # fmt: skip


# Bounded and repeatable for CI: at most 25 generated cases per operation (plus the
# examples and schemathesis' coverage cases), a fixed seed, no example database.
@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, ci_world: Any, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]
    token = ci_world.token("results", "verdict", "metrics")
    # Like Django's test client: the end of a request must not close the test's connection
    # (it holds the test transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    headers = {"Authorization": f"Bearer {token}"}
    gitlab = case.operation.definition.raw.get("operationId") == "webhook_gitlab"
    if gitlab and case.path_parameters.get("slug") == "gl":
        # GitLab's token is a plain header: the fuzzed payloads get past it, are stored,
        # and are processed below.
        headers["X-Gitlab-Token"] = "gitlab-token-123"
    try:
        case.call_and_validate(headers=headers)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    if gitlab:
        # What the worker does after commit (never in this test's transaction): any payload
        # is applied, ignored or refused with a reason, never a crash.
        deliveries_drain()
        crashed = Delivery.objects.filter(outcome__startswith="could not be processed")
        assert not crashed.exists(), [(bytes(d.body)[:300], d.outcome) for d in crashed]
