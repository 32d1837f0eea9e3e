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

with override_settings(ALLOWED_HOSTS=["localhost"]):  # schemathesis calls the app as "localhost"
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def test_schema_is_openapi_3_1_and_lists_every_api_url(client: Any) -> None:
    from tests.test_views import all_url_names

    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    api_names = {n.split(":", 1)[1] for n in all_url_names() if n.startswith("api:")}
    assert {n.replace("webhook_", "webhook_") for n in api_names} <= operations | {"openapi"}
    assert {"healthz", "readyz"} <= operations


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@hypothesis_settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, ci_world: Any, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]
    token = ci_world.token("results", "verdict", "metrics")
    # Like Django's test client: the end of a request must not close the test's connection
    # (it holds the test transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
