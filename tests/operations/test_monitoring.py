"""Reading Prometheus and Sentry (operations/monitoring.py) against local servers that
answer as their HTTP APIs document, checking what we send: the PromQL with the release
filled in, Sentry's parameters, the bearer token."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation

from operations.models import HealthSource
from operations.monitoring import (
    PROBLEM_CODES,
    problem_text,
    prometheus_read,
    sentry_read,
    source_read,
    template_fill,
)

from ..releases.factories import ProductFactory, ReleaseFactory
from .monitoring_servers import FakePrometheus, FakeSentry, Reply, prometheus_error, scalar, sessions, vector

pytestmark = pytest.mark.django_db

TOKEN = "prom-t0ken"
ERROR_RATE = (
    'sum(rate(http_requests_total{code=~"5..",version="{version}"}[5m])) '
    '/ sum(rate(http_requests_total{version="{version}"}[5m]))'
)
P95 = (
    "histogram_quantile(0.95, sum by (le) "
    '(rate(http_request_duration_seconds_bucket{version="{version}",build="{build}"}[5m]))) * 1000'
)
RATE_429 = (
    'sum(rate(http_requests_total{code="429",job="{product}"}[5m])) / sum(rate(http_requests_total[5m]))'
)


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    server = FakePrometheus(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    server = FakeSentry(token="sntrys_abc", org="acme").start()
    yield server
    server.stop()


@pytest.fixture
def release() -> Any:
    product = ProductFactory(slug="api")
    return ReleaseFactory(product=product, version="2.4.0", build_number=812, state="rolling_out")


def prom_source(release: Any, url: str, **kw: Any) -> HealthSource:
    return HealthSource.objects.create(
        product=release.product,
        kind="prometheus",
        url=url,
        token_env=kw.pop("token_env", "GONOGO_TEST_PROM_TOKEN"),
        queries=kw.pop("queries", {"error_rate": ERROR_RATE, "p95_latency_ms": P95, "rate_429": RATE_429}),
        **kw,
    )


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONOGO_TEST_PROM_TOKEN", TOKEN)
    monkeypatch.setenv("GONOGO_TEST_SENTRY_TOKEN", "sntrys_abc")


def healthy(prometheus: FakePrometheus) -> None:
    prometheus.rules = {
        'code=~"5.."': Reply(200, vector("0.002")),
        "histogram_quantile": Reply(200, vector("412.5")),
        'code="429"': Reply(200, vector("0")),
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Prometheus --------------------------------------------------------------------------------


def test_prometheus_in_bounds_sends_the_filled_query_and_the_token(prometheus, release):
    healthy(prometheus)
    reading = prometheus_read(prom_source(release, prometheus.url), release, timeout=2)

    assert reading.values == {"error_rate": 0.002, "p95_latency_ms": 412.5, "rate_429": 0.0}
    assert reading.problems == []
    assert sorted(prometheus.queries) == sorted(
        [
            'sum(rate(http_requests_total{code=~"5..",version="2.4.0"}[5m])) '
            '/ sum(rate(http_requests_total{version="2.4.0"}[5m]))',
            "histogram_quantile(0.95, sum by (le) "
            '(rate(http_request_duration_seconds_bucket{version="2.4.0",build="812"}[5m]))) * 1000',
            'sum(rate(http_requests_total{code="429",job="api"}[5m])) / sum(rate(http_requests_total[5m]))',
        ]
    )
    assert {s.path for s in prometheus.seen} == {"/api/v1/query"}
    assert {s.headers["authorization"] for s in prometheus.seen} == {f"Bearer {TOKEN}"}


def test_template_fill_leaves_promql_braces_alone(release):
    assert template_fill('x{a="{version}",b="{build}"} {product} {other}', release) == (
        'x{a="2.4.0",b="812"} api {other}'
    )


def test_a_scalar_answer_is_a_value(prometheus, release):
    prometheus.rules = {"": Reply(200, scalar("0.004"))}
    source = prom_source(release, prometheus.url, queries={"error_rate": "scalar(vector(0.004))"})
    assert prometheus_read(source, release, timeout=2).values == {"error_rate": 0.004}


def test_unknown_metric_names_are_not_asked(prometheus, release):
    healthy(prometheus)
    source = prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE, "cpu": "up"})
    reading = prometheus_read(source, release, timeout=2)
    assert reading.values == {"error_rate": 0.002}
    assert len(prometheus.queries) == 1


def test_http_500_is_a_problem_not_a_value(prometheus, release):
    prometheus.rules = {"": Reply(500, b"internal error")}
    reading = prometheus_read(prom_source(release, prometheus.url), release, timeout=2)
    assert reading.values == {}
    assert [(p["metric"], p["code"], p["detail"]) for p in reading.problems] == [
        ("error_rate", "http_error", "HTTP 500"),
        ("p95_latency_ms", "http_error", "HTTP 500"),
        ("rate_429", "http_error", "HTTP 500"),
    ]
    assert problem_text(reading.problems[0]) == "Prometheus answered with an error (error rate): HTTP 500"


def test_http_400_carries_prometheus_error_text(prometheus, release):
    prometheus.rules = {
        'code=~"5.."': Reply(400, prometheus_error("bad_data", 'parse error at char 12: unexpected "}"')),
        "histogram_quantile": Reply(200, vector("300")),
    }
    source = prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE, "p95_latency_ms": P95})
    reading = prometheus_read(source, release, timeout=2)
    assert reading.values == {"p95_latency_ms": 300.0}
    (problem,) = reading.problems
    assert problem["code"] == "http_error"
    assert problem["detail"] == 'HTTP 400: parse error at char 12: unexpected "}"'
    assert problem["status"] == 400


def test_a_wrong_token_is_the_401_prometheus_gives(prometheus, release, monkeypatch):
    monkeypatch.setenv("GONOGO_TEST_PROM_TOKEN", "wrong")
    reading = prometheus_read(
        prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE}), release
    )
    assert reading.problems[0]["detail"] == "HTTP 401: missing or wrong bearer token"


def test_a_named_token_that_is_empty_is_said_without_asking(prometheus, release, monkeypatch):
    monkeypatch.setenv("GONOGO_TEST_PROM_TOKEN", "")
    reading = prometheus_read(prom_source(release, prometheus.url), release)
    assert {p["code"] for p in reading.problems} == {"no_token"}
    assert len(reading.problems) == 3
    assert prometheus.seen == []
    assert "GONOGO_TEST_PROM_TOKEN" in problem_text(reading.problems[0])


def test_no_token_env_sends_no_authorization(release):
    server = FakePrometheus().start()
    try:
        server.rules = {"": Reply(200, vector("0.001"))}
        source = prom_source(release, server.url, token_env="", queries={"error_rate": ERROR_RATE})
        assert prometheus_read(source, release).values == {"error_rate": 0.001}
        assert "authorization" not in server.seen[0].headers
    finally:
        server.stop()


def test_timeout_costs_one_timeout_per_source(prometheus, release):
    prometheus.rules = {"": Reply(200, vector("0.001"), delay=1.5)}
    started = time.monotonic()
    reading = prometheus_read(prom_source(release, prometheus.url), release, timeout=0.3)
    assert time.monotonic() - started < 1.2
    assert reading.values == {}
    assert [p["code"] for p in reading.problems] == ["timeout", "timeout", "timeout"]
    assert len(prometheus.seen) == 1  # the others were not asked
    assert problem_text(reading.problems[0]) == "Prometheus did not answer within 0.3 s (error rate)."


def test_connection_refused_is_unreachable(release):
    source = prom_source(release, f"http://127.0.0.1:{closed_port()}", queries={"error_rate": ERROR_RATE})
    (problem,) = prometheus_read(source, release, timeout=1).problems
    assert problem["code"] == "unreachable"
    assert problem_text(problem).startswith("Prometheus could not be reached (error rate): could not connect")


def test_empty_vector_is_no_series(prometheus, release):
    reading = prometheus_read(
        prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE}), release
    )
    assert reading.values == {}
    assert reading.problems == [
        {
            "metric": "error_rate",
            "code": "no_series",
            "detail": "the query returned no series",
            "source": "prometheus",
        }
    ]


@pytest.mark.parametrize("raw", ["NaN", "+Inf", "-Inf"])
def test_nan_or_infinite_is_no_value(prometheus, release, raw):
    prometheus.rules = {"": Reply(200, vector(raw))}
    (problem,) = prometheus_read(
        prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE}), release
    ).problems
    assert (problem["code"], problem["detail"]) == ("no_value", raw)
    assert problem_text(problem).startswith(f"Prometheus returned {raw} for error rate, not a number")


def test_more_than_one_series_is_refused_not_summed(prometheus, release):
    prometheus.rules = {"": Reply(200, vector("0.001", "0.5"))}
    (problem,) = prometheus_read(
        prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE}), release
    ).problems
    assert problem["code"] == "bad_response"
    assert problem["detail"] == "the query returned 2 series; aggregate it to one"
    assert "returned 2 series: aggregate it to one" in problem_text(problem)


@pytest.mark.parametrize(
    ("metric", "raw"), [("error_rate", "1.5"), ("rate_429", "-0.1"), ("p95_latency_ms", "-3")]
)
def test_a_rate_outside_0_1_or_a_negative_latency_is_a_bad_response(prometheus, release, metric, raw):
    prometheus.rules = {"": Reply(200, vector(raw))}
    source = prom_source(release, prometheus.url, queries={metric: "some_query"})
    reading = prometheus_read(source, release)
    assert reading.values == {}
    assert reading.problems[0]["code"] == "bad_response"
    assert raw.lstrip("+") in problem_text(reading.problems[0])


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, b"<html>login</html>"),
        Reply(200, {"status": "error", "errorType": "timeout", "error": "query timed out", "data": {}}),
        Reply(200, {"status": "success", "data": {"resultType": "matrix", "result": []}}),
        Reply(200, {"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}}]}}),
    ],
)
def test_unusable_answers_are_bad_responses(prometheus, release, reply):
    prometheus.rules = {"": reply}
    (problem,) = prometheus_read(
        prom_source(release, prometheus.url, queries={"error_rate": ERROR_RATE}), release
    ).problems
    assert problem["code"] == "bad_response"


def test_a_source_without_queries_says_so(prometheus, release):
    source = prom_source(release, prometheus.url, queries={})
    (problem,) = prometheus_read(source, release).problems
    assert problem["code"] == "not_configured"
    assert prometheus.seen == []


def test_a_broken_source_row_is_an_error_problem_not_an_exception(prometheus, release):
    source = prom_source(release, prometheus.url, queries=["not", "a", "table"])
    reading = source_read(source, release)
    assert reading.values == {}
    assert {p["code"] for p in reading.problems} == {"error"}
    assert reading.problems[0]["detail"].startswith("AttributeError")


# Sentry ------------------------------------------------------------------------------------


def sentry_source(release: Any, url: str, **kw: Any) -> HealthSource:
    return HealthSource.objects.create(
        product=release.product,
        kind="sentry",
        url=url,
        token_env="GONOGO_TEST_SENTRY_TOKEN",
        org="acme",
        project=kw.pop("project", "1234"),
        release_template=kw.pop("release_template", "{product}@{version}+{build}"),
        **kw,
    )


def test_sentry_crash_free_sessions_of_the_release(sentry, release):
    sentry.answers["api@2.4.0+812"] = Reply(200, sessions(0.9981))
    reading = sentry_read(sentry_source(release, sentry.url), release, timeout=2)

    assert reading.values == {"crash_free_sessions": 0.9981}
    assert reading.problems == []
    (seen,) = sentry.seen
    assert seen.path == "/api/0/organizations/acme/sessions/"
    assert seen.params == {
        "project": ["1234"],
        "field": ["crash_free_rate(session)"],
        "query": ['release:"api@2.4.0+812"'],
        "statsPeriod": ["24h"],
        "interval": ["1h"],
    }
    assert seen.headers["authorization"] == "Bearer sntrys_abc"


def test_sentry_release_template(sentry, release):
    sentry.answers["api-2.4.0"] = Reply(200, sessions(0.97))
    source = sentry_source(release, sentry.url, release_template="{product}-{version}")
    assert sentry_read(source, release).values == {"crash_free_sessions": 0.97}


@pytest.mark.parametrize("answer", [sessions(None, groups=0), sessions(None)])
def test_sentry_without_sessions_is_no_series(sentry, release, answer):
    sentry.answers["api@2.4.0+812"] = Reply(200, answer)
    (problem,) = sentry_read(sentry_source(release, sentry.url), release).problems
    assert problem["code"] == "no_series"
    assert problem["detail"] == "Sentry has no sessions for release api@2.4.0+812"
    assert (
        problem_text(problem) == "Sentry has no sessions for release api@2.4.0+812 yet (crash-free sessions)."
    )


def test_sentry_refuses_a_wrong_token(sentry, release, monkeypatch):
    monkeypatch.setenv("GONOGO_TEST_SENTRY_TOKEN", "other")
    (problem,) = sentry_read(sentry_source(release, sentry.url), release).problems
    assert (problem["code"], problem["detail"]) == ("http_error", "HTTP 401: Invalid token")


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (Reply(503, b"upstream down"), "http_error"),
        (Reply(200, sessions(1.2)), "bad_response"),
        (Reply(200, sessions(0.99, groups=2)), "bad_response"),
        (Reply(200, b"not json"), "bad_response"),
        (Reply(200, sessions(0.99), delay=1.0), "timeout"),
    ],
)
def test_sentry_problems(sentry, release, reply, code):
    sentry.answers["api@2.4.0+812"] = reply
    reading = sentry_read(sentry_source(release, sentry.url), release, timeout=0.3)
    assert reading.values == {}
    assert [p["code"] for p in reading.problems] == [code]


def test_sentry_needs_a_numeric_project(sentry, release):
    (problem,) = sentry_read(sentry_source(release, sentry.url, project="mobile-app"), release).problems
    assert problem["code"] == "not_configured"
    assert sentry.seen == []


# Words -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROBLEM_CODES)
def test_every_code_has_its_own_words(code):
    generic = problem_text({"metric": "error_rate", "code": "something_else", "detail": "d"})
    text = problem_text({"metric": "error_rate", "code": code, "detail": "d", "source": "prometheus"})
    assert text != generic
    assert "Prometheus" in text


def test_problem_text_follows_the_language():
    problem = {
        "metric": "error_rate",
        "code": "timeout",
        "detail": "",
        "source": "prometheus",
        "seconds": "5",
    }
    with translation.override("en"):
        english = problem_text(problem)
    with translation.override("ko"):
        korean = problem_text(problem)
    assert english == "Prometheus did not answer within 5 s (error rate)."
    assert korean.startswith("Prometheus에서 5초 안에 응답이 없습니다")  # locale/ko
