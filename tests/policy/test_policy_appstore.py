"""`[products.appstore]` in the policy file: the App Store Connect key and app of a
product, checked, applied (audited), and left alone when the file leaves it out."""

from __future__ import annotations

import textwrap

import pytest

from audit.models import AuditEvent
from policy.parse.checker import PolicyError
from policy.schema import policy_parse
from policy.services import policy_apply
from stores.models import AppStoreSource

pytestmark = pytest.mark.django_db

FILE = textwrap.dedent(
    """
    [[products]]
    slug = "ios-app"
    name = "iOS app"
    platform = "ios"
    [products.appstore]
    issuer_id = "57246542-96fe-1a63-e053-0824d011072a"
    key_id = "2X9R4HXF34"
    private_key_env = "GONOGO_ASC_KEY"
    app_id = "1234567890"
    """
)


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        policy_parse(text)
    return [f"{p.key}: {p.reason}" for p in caught.value.problems]


def test_the_source_is_created_then_left_as_it_is() -> None:
    changes = policy_apply(policy_parse(FILE))
    assert "created App Store source ios-app" in changes
    source = AppStoreSource.objects.get(product__slug="ios-app")
    assert (source.issuer_id, source.key_id, source.private_key_env, source.app_id, source.active) == (
        "57246542-96fe-1a63-e053-0824d011072a",
        "2X9R4HXF34",
        "GONOGO_ASC_KEY",
        "1234567890",
        True,
    )
    assert AuditEvent.objects.filter(action="policy.create", object_type="stores.appstoresource").count() == 1
    assert policy_apply(policy_parse(FILE)) == []
    switched_off = policy_apply(policy_parse(FILE + "active = false\n"))
    assert switched_off == ["updated App Store source ios-app (active: True → False)"]
    without = FILE.split("[products.appstore]")[0]
    assert policy_apply(policy_parse(without)) == []
    assert AppStoreSource.objects.filter(product__slug="ios-app").exists()


def test_its_keys_are_checked() -> None:
    bad = FILE.replace('app_id = "1234567890"', 'app_id = "com.example.ios"').replace(
        'key_id = "2X9R4HXF34"\n', 'kid = "x"\n'
    )
    problems = problems_of(bad)
    assert any(p.startswith("products[0].appstore.kid: unknown key") for p in problems)
    assert "products[0].appstore.key_id: is required" in problems
    assert any(p.startswith("products[0].appstore.app_id: is the app's Apple ID") for p in problems)


def test_the_key_variable_must_be_a_gonogo_secret() -> None:
    problems = problems_of(FILE.replace("GONOGO_ASC_KEY", "SECRET_KEY"))
    assert any(p.startswith("products[0].appstore.private_key_env") for p in problems)
