"""`[[flags]]` (CONTRACT §6): Unleash and webhook flags with what each needs; a wrong
key, product or provider refuses the whole file with the key that is wrong; applied
audited; a second run changes nothing."""

from __future__ import annotations

import textwrap

import pytest

from audit.models import AuditEvent
from flags.models import Flag
from policy.schema import PolicyError, policy_parse
from policy.services import policy_apply
from policy.specs import FlagSpec

from ..releases.factories import ProductFactory

pytestmark = pytest.mark.django_db

CONTRACT = textwrap.dedent(
    """
    [[flags]]
    product = "ios-app"
    key = "search-v2"
    provider = "unleash"             # unleash | webhook
    url = "https://unleash.example"
    project = "default"
    environment = "production"
    token_env = "GONOGO_UNLEASH_TOKEN"

    [[flags]]
    product = "ios-app"
    key = "new-checkout"
    name = "New checkout"
    provider = "webhook"
    url = "https://flags.example/kill"
    secret_env = "GONOGO_FLAGS_WEBHOOK_SECRET"
    """
)


@pytest.fixture(autouse=True)
def product() -> None:
    ProductFactory(slug="ios-app", name="iOS app", platform="ios")


def test_the_contract_example_parses() -> None:
    assert policy_parse(CONTRACT).flags == (
        FlagSpec(
            product="ios-app",
            key="search-v2",
            provider="unleash",
            url="https://unleash.example",
            token_env="GONOGO_UNLEASH_TOKEN",
        ),
        FlagSpec(
            product="ios-app",
            key="new-checkout",
            name="New checkout",
            provider="webhook",
            url="https://flags.example/kill",
            secret_env="GONOGO_FLAGS_WEBHOOK_SECRET",
        ),
    )


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        ('product = "ios-app"', "flags[0].product", "unknown product “android”"),
        ('provider = "unleash"', "flags[0].provider", "“launchdarkly” is not one of: unleash, webhook"),
        ('key = "search-v2"', "flags[0].key", "use letters, digits"),
        ('token_env = "GONOGO_UNLEASH_TOKEN"', "flags[0].token_env", "must start with GONOGO_"),
        ('url = "https://unleash.example"', "flags[0].url", "must be an http or https link"),
        ('project = "default"', "flags[0].colour", "unknown key"),
    ],
)
def test_a_wrong_value_refuses_the_whole_file_with_its_key(change: str, key: str, reason: str) -> None:
    wrong = {
        'product = "ios-app"': 'product = "android"',
        'provider = "unleash"': 'provider = "launchdarkly"',
        'key = "search-v2"': 'key = "search v2!"',
        'token_env = "GONOGO_UNLEASH_TOKEN"': 'token_env = "SECRET_KEY"',
        'url = "https://unleash.example"': 'url = "ftp://unleash.example"',
        'project = "default"': 'project = "default"\ncolour = "red"',
    }[change]
    with pytest.raises(PolicyError) as refused:
        policy_parse(CONTRACT.replace(change, wrong, 1))
    found = [(p.key, p.reason) for p in refused.value.problems]
    assert any(k == key and reason in r for k, r in found), found
    assert not Flag.objects.exists()


def test_each_provider_needs_its_secret_and_a_key_is_unique_per_product() -> None:
    text = CONTRACT.replace('token_env = "GONOGO_UNLEASH_TOKEN"\n', "").replace(
        'secret_env = "GONOGO_FLAGS_WEBHOOK_SECRET"\n', ""
    )
    with pytest.raises(PolicyError) as refused:
        policy_parse(text)
    keys = {p.key for p in refused.value.problems}
    assert {"flags[0].token_env", "flags[1].secret_env"} <= keys
    twice = CONTRACT.replace('key = "new-checkout"', 'key = "search-v2"')
    with pytest.raises(PolicyError) as dup:
        policy_parse(twice)
    assert any("appears twice" in p.reason for p in dup.value.problems)


def test_a_flag_of_a_product_defined_in_the_same_file() -> None:
    text = '[[products]]\nslug = "web"\nname = "Web"\nplatform = "web"\n' + CONTRACT.replace(
        'product = "ios-app"\nkey = "search-v2"', 'product = "web"\nkey = "search-v2"'
    )
    policy_apply(policy_parse(text))
    assert Flag.objects.get(key="search-v2").product.slug == "web"


def test_applied_audited_and_a_second_run_changes_nothing() -> None:
    changes = policy_apply(policy_parse(CONTRACT))
    assert changes == ["created flag ios-app search-v2", "created flag ios-app new-checkout"]
    flag = Flag.objects.get(key="search-v2")
    assert (flag.provider, flag.url, flag.token_env, flag.environment) == (
        "unleash",
        "https://unleash.example",
        "GONOGO_UNLEASH_TOKEN",
        "production",
    )
    assert AuditEvent.objects.filter(action="policy.create", object_type="flags.flag").count() == 2
    assert policy_apply(policy_parse(CONTRACT)) == []
    changed = policy_apply(
        policy_parse(CONTRACT.replace('environment = "production"', 'environment = "prod"'))
    )
    assert changed == ["updated flag ios-app search-v2 (environment: 'production' → 'prod')"]
    assert AuditEvent.objects.filter(action="policy.update", object_type="flags.flag").count() == 1
