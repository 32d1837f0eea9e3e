"""`[products.health]` of CONTRACT §6 in the policy file: the crash-free bound, auto-advance,
the Prometheus and Sentry sources, the alerts' language and the on-call review window."""

from __future__ import annotations

import textwrap

import pytest

from audit.models import AuditEvent
from operations.models import HealthSource
from policy.parse.checker import PolicyError
from policy.schema import policy_parse
from policy.services import policy_apply
from policy.specs import SourceSpec
from releases.models import Product

pytestmark = pytest.mark.django_db

ERROR_RATE = (
    'sum(rate(http_requests_total{code=~"5..",version="{version}"}[5m])) '
    '/ sum(rate(http_requests_total{version="{version}"}[5m]))'
)
P95 = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{version="{version}"}[5m]))) * 1000'

# CONTRACT §6's product, with a real query where it says '…'.
FILE = textwrap.dedent(
    f"""
    [[products]]
    slug = "ios-app"
    name = "iOS app"
    platform = "ios"
    language = "ko"
    contacts_review_days = 30
    [products.health]                # bounds: a sample outside any of them halts the stage
    error_rate = 0.01                # max, fraction 0..1
    p95_latency_ms = 800             # max
    rate_429 = 0.005                 # max, fraction 0..1
    crash_free_sessions = 0.995      # min, fraction 0..1 (mobile)
    soak_minutes = 30                # a stage may advance only this long after it began
    auto_advance = false             # true: advance by itself once soaked and in bounds
    [products.health.prometheus]     # optional: sampled while the product rolls out
    url = "https://prometheus.example"
    token_env = "GONOGO_PROM_TOKEN"  # optional bearer token
    interval_seconds = 60
    [products.health.prometheus.queries]   # PromQL; {{version}} {{build}} {{product}} are filled in
    error_rate = '{ERROR_RATE}'
    p95_latency_ms = '{P95}'
    rate_429 = 'sum(rate(http_requests_total{{code="429",version="{{version}}"}}[5m])) / sum(rate(http_requests_total[5m]))'
    [products.health.sentry]         # optional: crash-free sessions of the release
    url = "https://sentry.io"
    org = "acme"
    project = "1234"
    release = "{{product}}@{{version}}+{{build}}"
    token_env = "GONOGO_SENTRY_TOKEN"
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        policy_parse(text)
    return [f"{p.key}: {p.reason}" for p in exc.value.problems]


def test_contract_example_parses_to_specs() -> None:
    (product,) = policy_parse(FILE).products
    assert (product.language, product.contacts_review_days) == ("ko", 30)
    health = product.health
    assert (health.crash_free_sessions, health.auto_advance) == (0.995, False)
    assert health.prometheus is not None and health.prometheus.url == "https://prometheus.example"
    assert dict(health.prometheus.queries)["error_rate"] == ERROR_RATE
    assert health.sentry == SourceSpec(
        kind="sentry",
        url="https://sentry.io",
        token_env="GONOGO_SENTRY_TOKEN",
        org="acme",
        project="1234",
        release_template="{product}@{version}+{build}",
    )


def test_applying_creates_the_sources_and_settings_once() -> None:
    changes = policy_apply(policy_parse(FILE), actor_label="policy:test")
    assert "created health source ios-app prometheus" in changes
    assert "created health source ios-app sentry" in changes

    product = Product.objects.get(slug="ios-app")
    assert (product.health_crash_free_sessions, product.auto_advance) == (0.995, False)
    assert (product.language, product.contacts_review_days) == ("ko", 30)
    prom = HealthSource.objects.get(product=product, kind="prometheus")
    assert (prom.url, prom.token_env, prom.interval_seconds) == (
        "https://prometheus.example",
        "GONOGO_PROM_TOKEN",
        60,
    )
    assert prom.queries["p95_latency_ms"] == P95 and set(prom.queries) == {
        "error_rate",
        "p95_latency_ms",
        "rate_429",
    }
    sentry = HealthSource.objects.get(product=product, kind="sentry")
    assert (sentry.org, sentry.project, sentry.release_template, sentry.active) == (
        "acme",
        "1234",
        "{product}@{version}+{build}",
        True,
    )
    assert (
        AuditEvent.objects.filter(action="policy.create", object_type__contains="healthsource").count() == 2
    )

    assert policy_apply(policy_parse(FILE), actor_label="policy:test") == []


def test_a_change_is_an_audited_update_and_the_table_is_defined_whole() -> None:
    policy_apply(policy_parse(FILE))
    changed = FILE.replace("interval_seconds = 60", "interval_seconds = 30").replace(
        'rate_429 = \'sum(rate(http_requests_total{code="429"', "# rate_429 = '"
    )
    changes = policy_apply(policy_parse(changed), actor_label="policy:test")

    (line,) = [c for c in changes if c.startswith("updated health source ios-app prometheus")]
    assert "interval_seconds: 60 → 30" in line
    prom = HealthSource.objects.get(kind="prometheus")
    assert prom.interval_seconds == 30 and set(prom.queries) == {"error_rate", "p95_latency_ms"}
    event = AuditEvent.objects.filter(action="policy.update", object_id=str(prom.pk)).get()
    assert event.before["interval_seconds"] == 60 and event.after["interval_seconds"] == 30
    assert "rate_429" in event.before["queries"] and "rate_429" not in event.after["queries"]


def test_a_source_left_out_of_the_file_stays_and_active_false_turns_it_off() -> None:
    policy_apply(policy_parse(FILE))
    without_sentry = FILE.split("[products.health.sentry]")[0]
    assert not [c for c in policy_apply(policy_parse(without_sentry)) if "sentry" in c]
    assert HealthSource.objects.get(kind="sentry").active

    off = FILE.replace(
        'token_env = "GONOGO_SENTRY_TOKEN"', 'token_env = "GONOGO_SENTRY_TOKEN"\nactive = false'
    )
    assert any(
        "health source ios-app sentry (active: True → False" in c for c in policy_apply(policy_parse(off))
    )
    assert not HealthSource.objects.get(kind="sentry").active


def test_left_out_settings_keep_what_is_stored() -> None:
    policy_apply(policy_parse(FILE))
    bare = '[[products]]\nslug = "ios-app"\nname = "iOS app"\nplatform = "ios"\n'
    assert policy_apply(policy_parse(bare)) == []
    product = Product.objects.get(slug="ios-app")
    assert (product.health_crash_free_sessions, product.language, product.contacts_review_days) == (
        0.995,
        "ko",
        30,
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("crash_free_sessions = 0.995", "crash_free_sessions = 99.5"),
            "products[0].health.crash_free_sessions: is a fraction",
        ),
        (
            ("auto_advance = false", 'auto_advance = "no"'),
            "products[0].health.auto_advance: must be true or false",
        ),
        (('language = "ko"', 'language = "fr"'), "products[0].language: “fr” is not one of: en, ko"),
        (
            ("contacts_review_days = 30", "contacts_review_days = 0"),
            "products[0].contacts_review_days: must be 1 or more",
        ),
        (
            ('url = "https://prometheus.example"', 'url = "ftp://prometheus.example"'),
            "products[0].health.prometheus.url: must be an http or https address",
        ),
        (
            ("interval_seconds = 60", "interval_seconds = 5"),
            "products[0].health.prometheus.interval_seconds: must be 10 or more",
        ),
        (
            ("interval_seconds = 60", 'interval_seconds = "60"'),
            "products[0].health.prometheus.interval_seconds: must be a whole number",
        ),
        (
            ("p95_latency_ms = '", "p99_latency_ms = '"),
            "products[0].health.prometheus.queries.p99_latency_ms: unknown metric (known: error_rate, p95_latency_ms, rate_429)",
        ),
        (
            ("p95_latency_ms = '", "p95_latency_ms = 3 # '"),
            "products[0].health.prometheus.queries.p95_latency_ms: must be a PromQL query",
        ),
        (
            ('token_env = "GONOGO_PROM_TOKEN"', 'token_env = "SECRET_KEY"'),
            "products[0].health.prometheus.token_env: “SECRET_KEY” must start with GONOGO_",
        ),
        (
            ('token_env = "GONOGO_SENTRY_TOKEN"', 'token_env = "GONOGO_DB_APP_PASSWORD"'),
            "products[0].health.sentry.token_env: “GONOGO_DB_APP_PASSWORD” must start with GONOGO_",
        ),
        (
            ('project = "1234"', 'project = "mobile"'),
            "products[0].health.sentry.project: must be the project's numeric id",
        ),
        (('org = "acme"', 'org = ""'), "products[0].health.sentry.org: must not be empty"),
        (('org = "acme"', ""), "products[0].health.sentry.org: is required"),
        (
            ('release = "{product}@{version}+{build}"', 'release = "{product}"'),
            "products[0].health.sentry.release: must contain {version}",
        ),
        (
            ('url = "https://sentry.io"', 'dsn = "https://sentry.io"'),
            "products[0].health.sentry.dsn: unknown key",
        ),
        (('url = "https://sentry.io"', ""), "products[0].health.sentry.url: is required"),
        (
            ("[products.health.prometheus.queries]", "[products.health.prometheus.q]"),
            "products[0].health.prometheus.queries: is required",
        ),
    ],
)
def test_each_mistake_is_named(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in FILE
    found = problems_of(FILE.replace(old, new, 1))
    assert any(p.startswith(expected) for p in found), found
    assert not Product.objects.exists()


def test_an_internal_monitoring_host_is_accepted() -> None:
    """Monitoring often runs beside the app: http://prometheus:9090 (no dots) is fine."""
    text = FILE.replace('url = "https://prometheus.example"', 'url = "http://prometheus:9090"')
    (product,) = policy_parse(text).products
    assert product.health.prometheus is not None and product.health.prometheus.url == "http://prometheus:9090"
    policy_apply(policy_parse(text), actor_label="policy:test")
    source = HealthSource.objects.get(kind="prometheus")
    source.full_clean()  # the admin's check agrees
    assert source.url == "http://prometheus:9090"
