"""`[products.play]` in the policy file: the product's Google Play source (docs/policy.md,
docs/google-play.md): checked, applied once, audited, defined whole by the table."""

from __future__ import annotations

import textwrap

import pytest

from audit.models import AuditEvent
from policy.parse.checker import PolicyError
from policy.schema import policy_parse
from policy.services import policy_apply
from policy.specs import PlaySpec
from stores.models import PlaySource

pytestmark = pytest.mark.django_db

FILE = textwrap.dedent(
    """
    [[products]]
    slug = "android-app"
    name = "Android app"
    platform = "android"
    [products.play]
    package_name = "com.acme.shop"
    key_env = "GONOGO_PLAY_KEY_ANDROID"   # the variable holding the service account's JSON key
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as exc:
        policy_parse(text)
    return [f"{p.key}: {p.reason}" for p in exc.value.problems]


def test_the_table_parses_with_its_defaults() -> None:
    (product,) = policy_parse(FILE).products
    assert product.play == PlaySpec(package_name="com.acme.shop", key_env="GONOGO_PLAY_KEY_ANDROID")
    assert product.play.track == "production" and product.play.active


def test_applying_creates_the_source_once_and_audits_it() -> None:
    assert "created Google Play source android-app" in policy_apply(policy_parse(FILE))
    source = PlaySource.objects.get(product__slug="android-app")
    assert (source.package_name, source.key_env, source.track, source.active) == (
        "com.acme.shop",
        "GONOGO_PLAY_KEY_ANDROID",
        "production",
        True,
    )
    assert AuditEvent.objects.filter(action="policy.create", object_type__contains="playsource").count() == 1
    assert policy_apply(policy_parse(FILE)) == []
    changed = FILE + 'track = "beta"\nactive = false\n'
    (line,) = [c for c in policy_apply(policy_parse(changed)) if "Google Play" in c]
    assert line.startswith("updated Google Play source android-app") and "'beta'" in line
    # A file without the table leaves the source as it is.
    policy_apply(policy_parse(FILE.split("[products.play]")[0]))
    assert PlaySource.objects.get().track == "beta"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ('key_env = "GONOGO_K"', "products[0].play.package_name: is required"),
        ('package_name = "com.acme.shop"', "products[0].play.key_env: is required"),
        (
            'package_name = "shop"\nkey_env = "GONOGO_K"',
            "products[0].play.package_name: must be the app's package name",
        ),
        ('package_name = "com.acme.shop"\nkey_env = "SECRET_KEY"', "products[0].play.key_env"),
        (
            'package_name = "com.acme.shop"\nkey_env = "GONOGO_K"\ntrack = "no track"',
            "products[0].play.track",
        ),
        (
            'package_name = "com.acme.shop"\nkey_env = "GONOGO_K"\nfraction = 1',
            "products[0].play.fraction: unknown key",
        ),
    ],
)
def test_a_bad_table_is_refused_saying_why(table: str, problem: str) -> None:
    text = FILE.split("[products.play]")[0] + "[products.play]\n" + table + "\n"
    assert any(p.startswith(problem) for p in problems_of(text)), problems_of(text)


def test_google_play_is_for_android_products() -> None:
    (problem,) = problems_of(FILE.replace('platform = "android"', 'platform = "ios"'))
    assert problem.startswith("products[0].play: Google Play releases Android apps")
