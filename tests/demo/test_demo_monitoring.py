"""`make run`'s stand-in Prometheus: the demo products read their rollout health from it,
in the shape of Prometheus's instant-query API; `demo_spike` makes one version breach."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from demo.monitoring import demo_queries, prometheus_query
from demo.seed import seed_demo
from operations.models import HealthSource
from releases.models import Product

pytestmark = pytest.mark.django_db


def ask(query: str) -> tuple[int, Any]:
    response = prometheus_query(RequestFactory().get("/demo/prometheus/api/v1/query", {"query": query}))
    return response.status_code, json.loads(response.content)


def test_with_debug_the_demo_products_read_the_stand_in(settings: Any) -> None:
    settings.DEBUG = True
    seed_demo()
    sources = HealthSource.objects.filter(product__slug__in=("ios-app", "api", "android-app"))
    assert sources.count() == 3
    source = sources.get(product__slug="api")
    assert source.url == f"{settings.GONOGO_BASE_URL}/demo/prometheus" and source.queries == demo_queries()
    assert Product.objects.get(slug="api").soak_minutes == 2


def test_without_debug_no_stand_in_is_configured() -> None:
    seed_demo()
    assert not HealthSource.objects.exists()


def test_it_answers_within_bounds_and_breaches_on_a_spike(settings: Any, tmp_path: Any) -> None:
    settings.DEBUG, settings.VAR_DIR = True, tmp_path
    query = demo_queries()["error_rate"].replace("{version}", "1.12.0")
    status, body = ask(query)
    assert status == 200 and body["status"] == "success" and body["data"]["resultType"] == "vector"
    assert body["data"]["result"][0]["value"][1] == "0.002"
    call_command("demo_spike", "1.12.0", "on")
    assert ask(query)[1]["data"]["result"][0]["value"][1] == "0.09"
    assert ask(query.replace("1.12.0", "2.4.0"))[1]["data"]["result"][0]["value"][1] == "0.002"
    call_command("demo_spike", "1.12.0", "off")
    assert ask(query)[1]["data"]["result"][0]["value"][1] == "0.002"
    assert ask("up")[0] == 400


def test_the_spike_command_needs_debug() -> None:
    with pytest.raises(CommandError, match="only with DEBUG on"):
        call_command("demo_spike", "1.12.0", "on")
