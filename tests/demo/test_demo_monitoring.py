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


def test_with_debug_ios_app_has_a_flag_at_the_stand_in_unleash_that_kill_switches_off(
    settings: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`make run`: the demo flag's Kill reaches the stand-in Unleash (served by the app
    itself under DEBUG) and its read-back says off."""
    from core.outbound import Answer
    from demo.unleash import unleash_feature, unleash_toggle
    from flags.models import Flag, FlagShip
    from flags.providers import unleash_off, unleash_read

    settings.DEBUG, settings.VAR_DIR = True, tmp_path
    settings.GONOGO_SECRET_DEFAULTS = {"GONOGO_DEMO_UNLEASH_TOKEN": "*:*.demo-unleash-token"}
    seed_demo()
    flag = Flag.objects.get(product__slug="ios-app", key="search-v2")
    assert flag.url == f"{settings.GONOGO_BASE_URL}/demo/unleash"
    assert flag.token_env == "GONOGO_DEMO_UNLEASH_TOKEN"
    assert FlagShip.objects.filter(flag=flag, release__version="2.4.0", ships=True).exists()

    def through_the_views(method: str, url: str, *, headers: Any = None, **kw: Any) -> Answer:
        path = url.removeprefix(settings.GONOGO_BASE_URL)
        parts = path.removeprefix("/demo/unleash/api/admin/projects/").split("/")
        auth = {"HTTP_AUTHORIZATION": (headers or {}).get("Authorization", "")}
        if method == "GET":
            response = unleash_feature(RequestFactory().get(path, **auth), parts[0], parts[2])
        else:
            response = unleash_toggle(
                RequestFactory().post(path, **auth), parts[0], parts[2], parts[4], parts[5]
            )
        return Answer(status=response.status_code, body=response.content)

    monkeypatch.setattr("flags.providers.http_request", through_the_views)
    assert unleash_read(flag).state == "on"
    assert unleash_off(flag).ok and unleash_read(flag).state == "off"
    monkeypatch.setenv("GONOGO_DEMO_UNLEASH_TOKEN", "*:*.another")  # not the stand-in's
    assert unleash_read(flag).error.startswith("Unleash refused the token (401)")
