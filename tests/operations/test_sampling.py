"""The health tick (operations/sampling.py): due sources of products rolling out are read
from local Prometheus/Sentry servers, one sample each, halting on a breach; the number of
database queries does not grow per product."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operations.models import HealthSample, HealthSource
from operations.sampling import health_tick
from releases.models import Release

from ..releases.factories import ProductFactory, ReleaseFactory
from .monitoring_servers import FakePrometheus, FakeSentry, Reply, sessions, vector

pytestmark = pytest.mark.django_db

QUERIES = {
    "error_rate": 'sum(rate(http_requests_total{code=~"5..",version="{version}"}[5m])) / sum(rate(x[5m]))',
    "p95_latency_ms": 'histogram_quantile(0.95, sum by (le) (rate(b{version="{version}"}[5m]))) * 1000',
}


@pytest.fixture
def prometheus() -> Iterator[FakePrometheus]:
    server = FakePrometheus(token="tok").start()
    server.rules = {
        'code=~"5..': Reply(200, vector("0.002")),
        "histogram_quantile": Reply(200, vector("350")),
    }
    yield server
    server.stop()


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    server = FakeSentry(token="stok").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GONOGO_TEST_PROM_TOKEN", "tok")
    monkeypatch.setenv("GONOGO_TEST_SENTRY_TOKEN", "stok")


def rolling_out(slug: str, *, state: str = "rolling_out", **product: Any) -> Release:
    product_row = ProductFactory(slug=slug, **product)
    return ReleaseFactory(
        product=product_row,
        version="3.1.0",
        state=state,
        rollout_percent=5 if state == "rolling_out" else None,
        rollout_stage_started_at=timezone.now() - timedelta(minutes=3) if state == "rolling_out" else None,
    )


def prom(release: Release, url: str, **kw: Any) -> HealthSource:
    return HealthSource.objects.create(
        product=release.product,
        kind="prometheus",
        url=url,
        token_env="GONOGO_TEST_PROM_TOKEN",
        interval_seconds=kw.pop("interval_seconds", 60),
        queries=kw.pop("queries", QUERIES),
        **kw,
    )


def sentry_source(release: Release, url: str) -> HealthSource:
    return HealthSource.objects.create(
        product=release.product,
        kind="sentry",
        url=url,
        token_env="GONOGO_TEST_SENTRY_TOKEN",
        org="acme",
        project="42",
    )


def test_in_bounds_one_sample_per_source(prometheus, sentry):
    release = rolling_out("api", health_crash_free_sessions=0.99)
    p, s = prom(release, prometheus.url), sentry_source(release, sentry.url)
    sentry.answers[f"api@3.1.0+{release.build_number}"] = Reply(200, sessions(0.998))
    now = timezone.now()

    report = health_tick(now, timeout=2)

    assert (report.sampled, report.inconclusive, report.halted, report.skipped) == (2, 0, 0, 0)
    by_source = {x.source: x for x in HealthSample.objects.filter(release=release)}
    assert set(by_source) == {"prometheus", "sentry"}
    assert (by_source["prometheus"].error_rate, by_source["prometheus"].p95_latency_ms) == (0.002, 350.0)
    assert by_source["prometheus"].rate_429 is None
    assert by_source["sentry"].crash_free_sessions == 0.998
    assert all(x.problems == [] and x.breaches == [] for x in by_source.values())
    assert 'version="3.1.0"' in prometheus.queries[0]
    for source in (p, s):
        source.refresh_from_db()
        assert source.last_sampled_at == now
    release.refresh_from_db()
    assert release.state == "rolling_out"
    assert report.as_dict()["sampled"] == 2


def test_over_the_bound_halts(prometheus):
    release = rolling_out("api", health_error_rate=0.01)
    prom(release, prometheus.url)
    prometheus.rules['code=~"5..'] = Reply(200, vector("0.2"))

    report = health_tick(timeout=2)

    assert (report.sampled, report.halted) == (1, 1)
    release.refresh_from_db()
    assert release.state == "halted"
    assert release.halt["kind"] == "breach"
    assert (release.halt["metric"], release.halt["value"], release.halt["source"]) == (
        "error_rate",
        0.2,
        "prometheus",
    )


def test_crash_free_under_the_minimum_halts(sentry):
    release = rolling_out("ios", health_crash_free_sessions=0.995)
    sentry_source(release, sentry.url)
    sentry.answers[f"ios@3.1.0+{release.build_number}"] = Reply(200, sessions(0.97))
    assert health_tick(timeout=2).halted == 1
    release.refresh_from_db()
    assert (release.state, release.halt["metric"]) == ("halted", "crash_free_sessions")


def test_values_and_problems_are_both_kept_and_a_breach_still_halts(prometheus):
    release = rolling_out("api")
    prom(release, prometheus.url)
    prometheus.rules = {'code=~"5..': Reply(200, vector("0.5")), "histogram_quantile": Reply(503, b"")}

    report = health_tick(timeout=2)

    sample = HealthSample.objects.get(release=release)
    assert sample.error_rate == 0.5
    assert sample.p95_latency_ms is None
    assert [(p["metric"], p["code"]) for p in sample.problems] == [("p95_latency_ms", "http_error")]
    assert sample.halted and report.halted == 1


def test_a_source_that_does_not_answer_is_inconclusive_not_in_bounds(prometheus):
    release = rolling_out("api")
    prom(release, prometheus.url)
    prometheus.rules = {"": Reply(200, vector("0.001"), delay=1.0)}

    report = health_tick(timeout=0.2)

    assert (report.sampled, report.inconclusive, report.halted) == (1, 1, 0)
    sample = HealthSample.objects.get(release=release)
    assert (sample.error_rate, sample.p95_latency_ms) == (None, None)
    assert {p["code"] for p in sample.problems} == {"timeout"}
    assert sample.inconclusive
    release.refresh_from_db()
    assert release.state == "rolling_out"


def test_not_due_before_its_interval(prometheus):
    release = rolling_out("api")
    now = timezone.now()
    source = prom(release, prometheus.url, interval_seconds=60, last_sampled_at=now - timedelta(seconds=30))

    report = health_tick(now, timeout=2)
    assert (report.sampled, report.skipped) == (0, 1)
    assert prometheus.seen == []

    later = now + timedelta(seconds=30)
    assert health_tick(later, timeout=2).sampled == 1
    source.refresh_from_db()
    assert source.last_sampled_at == later
    assert health_tick(later + timedelta(seconds=59), timeout=2).skipped == 1


@pytest.mark.parametrize("state", ["candidate", "go", "released", "rolled_back"])
def test_a_product_not_rolling_out_is_not_sampled(prometheus, state):
    release = rolling_out("api", state=state)
    prom(release, prometheus.url)
    report = health_tick(timeout=2)
    assert (report.sampled, report.skipped) == (0, 0)
    assert not HealthSample.objects.exists()
    assert prometheus.seen == []


def test_a_halted_release_is_read_for_its_resume_and_halts_nothing_more(prometheus):
    release = rolling_out("api", state="halted")
    prom(release, prometheus.url)
    report = health_tick(timeout=2)
    assert (report.sampled, report.halted) == (1, 0)
    (sample,) = HealthSample.objects.filter(release=release)
    assert sample.source == "prometheus" and not sample.halted


def test_an_inactive_source_is_not_read(prometheus):
    prom(rolling_out("api"), prometheus.url, active=False)
    assert health_tick(timeout=2).sampled == 0
    assert prometheus.seen == []


def test_one_broken_source_never_stops_the_others(prometheus):
    broken = rolling_out("broken")
    prom(broken, prometheus.url, queries=["not", "a", "table"])
    fine = rolling_out("fine")
    prom(fine, prometheus.url)

    report = health_tick(timeout=2)

    assert report.sampled == 2
    (bad,) = HealthSample.objects.filter(release=broken)
    assert {p["code"] for p in bad.problems} == {"error"}
    (good,) = HealthSample.objects.filter(release=fine)
    assert good.error_rate == 0.002 and good.problems == []


def _tick_queries(n: int, prometheus: FakePrometheus, tag: str) -> int:
    for i in range(n):
        prom(rolling_out(f"{tag}-{i}"), prometheus.url)
    with CaptureQueriesContext(connection) as ctx:
        report = health_tick(timeout=2)
    assert report.sampled == n
    HealthSource.objects.update(active=False)
    return len(ctx.captured_queries)


def test_queries_per_tick_are_constant_per_product(prometheus, django_assert_max_num_queries):
    one = _tick_queries(1, prometheus, "a")
    two = _tick_queries(2, prometheus, "b")
    per_product = two - one
    fixed = one - per_product
    assert per_product <= 12, "recording one sample should take a handful of queries"
    for i in range(5):
        prom(rolling_out(f"c-{i}"), prometheus.url)
    with django_assert_max_num_queries(fixed + 5 * per_product):
        assert health_tick(timeout=2).sampled == 5
