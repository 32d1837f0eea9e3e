"""Each section of a policy file parses to typed, frozen specs with the defaults of
docs/policy.md; a section with a problem gives none (the file is refused whole)."""

from __future__ import annotations

import dataclasses
import textwrap

import pytest

from policy.parse.channels import channels_parse
from policy.parse.checker import Checker, Known
from policy.parse.checklists import checklists_parse
from policy.parse.gates import gates_parse
from policy.parse.integrations import integrations_parse
from policy.parse.products import products_parse
from policy.parse.sso import sso_parse
from policy.schema import Policy, PolicyError, policy_parse
from policy.specs import (
    ChannelSpec,
    ChecklistSpec,
    GateSpec,
    HealthSpec,
    IntegrationSpec,
    ItemSpec,
    OnCallSpec,
    ProductSpec,
    SectionSpec,
    SsoRoleSpec,
    SsoSpec,
)

KNOWN = Known(products={"ios-app"}, gates={"contract"})


def test_a_gate_gets_the_documented_defaults() -> None:
    c = Checker()
    (gate,) = gates_parse(c, [{"key": "smoke", "name": "Smoke", "owner_role": "devops"}], KNOWN)
    assert not c.problems
    assert gate == GateSpec(
        key="smoke",
        name="Smoke",
        owner_role="devops",
        description="",
        phase="pre_release",
        blocking=True,
        waivable=False,
        evaluation="ci",
        allow_failure_passes=False,
        position=None,  # the applier places it by its order in the file
        products=None,  # the stored products are kept
    )


def test_a_gate_with_every_key() -> None:
    entry = {
        "key": "smoke",
        "name": "Smoke",
        "owner_role": "devops",
        "description": "After each deploy.",
        "phase": "post_deploy",
        "blocking": False,
        "waivable": True,
        "evaluation": "checklist",
        "allow_failure_passes": True,
        "position": 5,
        "products": ["ios-app"],
    }
    (gate,) = gates_parse(Checker(), [entry], KNOWN)
    assert dataclasses.asdict(gate) == {**entry, "products": ("ios-app",)}


def test_a_section_with_a_problem_gives_no_specs() -> None:
    c = Checker()
    entry = {"key": "smoke", "name": "Smoke", "owner_role": "devops", "products": ["web"]}
    assert gates_parse(c, [entry], KNOWN) == ()
    assert [(p.key, p.reason) for p in c.problems] == [("gates[0].products[0]", "unknown product “web”")]


def test_a_product_keeps_what_the_file_leaves_out_as_none() -> None:
    (bare,) = products_parse(Checker(), [{"slug": "api", "name": "API", "platform": "backend"}])
    assert bare == ProductSpec(slug="api", name="API", platform="backend")
    assert (bare.rollout, bare.signoff_roles, bare.runbook_url, bare.health) == (
        None,
        None,
        None,
        HealthSpec(),
    )

    entry = {
        "slug": "ios-app",
        "name": "iOS app",
        "platform": "ios",
        "rollout": [1, 5, 100],
        "signoff_roles": ["qa"],
        "health": {"error_rate": 0, "soak_minutes": 30},
        "oncall": [{"role": "devops", "name": "Dana", "contact": "+82 10 1"}],
    }
    (product,) = products_parse(Checker(), [entry])
    assert product.rollout == (1, 5, 100) and product.signoff_roles == ("qa",)
    assert product.health == HealthSpec(error_rate=0.0, soak_minutes=30)
    assert isinstance(product.health.error_rate, float)
    assert product.oncall == (OnCallSpec(role="devops", name="Dana", contact="+82 10 1"),)


def test_an_integration_keeps_its_patterns_in_file_order() -> None:
    entry = {
        "slug": "gh-ios",
        "provider": "github",
        "product": "ios-app",
        "gates": {"pact*": "contract", "lint*": "contract"},
    }
    (integration,) = integrations_parse(Checker(), [entry], KNOWN)
    assert integration == IntegrationSpec(
        slug="gh-ios",
        provider="github",
        product="ios-app",
        gates=(("pact*", "contract"), ("lint*", "contract")),
    )
    assert (integration.secret_env, integration.api_url, integration.active) == ("", "", True)


def test_a_checklist_parses_to_sections_and_items() -> None:
    entry = {
        "key": "qa",
        "name": "QA",
        "kind": "release",
        "sections": [{"title": "Login", "items": [{"title": "Log in", "core": True}, {"title": "Log out"}]}],
    }
    (checklist,) = checklists_parse(Checker(), [entry], KNOWN)
    assert checklist == ChecklistSpec(
        key="qa",
        name="QA",
        kind="release",
        products=None,
        sections=(
            SectionSpec(
                title="Login",
                items=(ItemSpec(title="Log in", core=True), ItemSpec(title="Log out")),
            ),
        ),
    )
    assert checklist.sections[0].items[1].owner_role == "qa"


def test_a_channel_with_no_products_is_for_all_and_one_without_the_key_keeps_them() -> None:
    entries = [
        {"slug": "ops", "kind": "slack", "url_env": "GONOGO_OPS_URL", "products": []},
        {"slug": "mail", "kind": "email", "email": "ops@example.com"},
    ]
    assert channels_parse(Checker(), entries, KNOWN) == (
        ChannelSpec(slug="ops", kind="slack", url_env="GONOGO_OPS_URL", products=()),
        ChannelSpec(slug="mail", kind="email", email="ops@example.com", products=None, active=True),
    )


def test_sso_is_none_without_the_section_and_a_spec_with_it() -> None:
    assert sso_parse(Checker(), None, KNOWN) is None
    sso = {
        "roles": [{"group": "pm", "role": "pm", "product": "ios-app"}, {"group": "m", "role": "mobile_lead"}]
    }
    assert sso_parse(Checker(), sso, KNOWN) == SsoSpec(
        groups_claim=None,
        roles=(
            SsoRoleSpec(group="pm", role="pm", product="ios-app"),
            SsoRoleSpec(group="m", role="mobile_lead"),
        ),
    )
    assert sso_parse(Checker(), {}, KNOWN) == SsoSpec()  # an empty [sso]: no rules at all


@pytest.mark.django_db
def test_policy_parse_returns_frozen_specs() -> None:
    text = textwrap.dedent(
        """
        [[products]]
        slug = "ios-app"
        name = "iOS app"
        platform = "ios"

        [[gates]]
        key = "contract"
        name = "Contract tests"
        owner_role = "backend_lead"
        products = ["ios-app"]
        """
    )
    policy = policy_parse(text)
    assert isinstance(policy, Policy) and policy.sso is None
    assert policy.products == (ProductSpec(slug="ios-app", name="iOS app", platform="ios"),)
    assert policy.gates[0].products == ("ios-app",)
    assert (policy.integrations, policy.checklists, policy.channels) == ((), (), ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        policy.gates[0].name = "Other"  # type: ignore[misc]


@pytest.mark.django_db
def test_problems_of_several_sections_are_listed_in_the_order_of_the_checks() -> None:
    text = textwrap.dedent(
        """
        [[products]]
        slug = "ios-app"
        name = "iOS app"
        platform = "symbian"

        [[gates]]
        key = "contract"
        name = 1
        owner_role = "backend_lead"
        products = ["web"]
        """
    )
    with pytest.raises(PolicyError) as exc:
        policy_parse(text, path="p.toml")
    # Every section's keys and types first, then each section's own checks.
    assert [p.key for p in exc.value.problems] == [
        "gates[0].name",
        "products[0].platform",
        "gates[0].products[0]",
    ]
