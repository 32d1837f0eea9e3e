"""`[[channels]]` (CONTRACT §6): the four kinds and what each needs, events each one of
ours (PagerDuty only those it acts on), every `*_env` name checked; applied twice, the
second run changes nothing."""

from __future__ import annotations

import textwrap

import pytest

from notifications.models import Channel
from policy.parse.channels import channels_parse
from policy.parse.checker import Checker, Known
from policy.schema import PolicyError, policy_parse
from policy.services import policy_apply
from policy.specs import ChannelSpec

KNOWN = Known(products={"api"}, gates=set())


def problems(entries: list[dict[str, object]]) -> list[tuple[str, str]]:
    c = Checker()
    channels_parse(c, entries, KNOWN)
    return [(p.key, p.reason) for p in c.problems]


def test_each_kind_with_what_it_needs() -> None:
    entries = [
        {
            "slug": "ops",
            "kind": "slack",
            "url_env": "GONOGO_SLACK_OPS_URL",
            "products": ["api"],
            "events": ["rollout.halted", "health.breach", "rollback.recorded"],
        },
        {
            "slug": "hooks",
            "kind": "webhook",
            "url_env": "GONOGO_HOOK_URL",
            "secret_env": "GONOGO_HOOK_SECRET",
        },
        {"slug": "oncall", "kind": "pagerduty", "routing_key_env": "GONOGO_PD_KEY"},
        {
            "slug": "mail",
            "kind": "email",
            "email": "ops@example.com",
            "events": ["decision.go", "decision.go"],
        },
    ]
    assert channels_parse(Checker(), entries, KNOWN) == (
        ChannelSpec(
            slug="ops",
            kind="slack",
            url_env="GONOGO_SLACK_OPS_URL",
            products=("api",),
            events=("rollout.halted", "health.breach", "rollback.recorded"),
        ),
        ChannelSpec(slug="hooks", kind="webhook", url_env="GONOGO_HOOK_URL", secret_env="GONOGO_HOOK_SECRET"),
        ChannelSpec(slug="oncall", kind="pagerduty", routing_key_env="GONOGO_PD_KEY"),
        ChannelSpec(slug="mail", kind="email", email="ops@example.com", events=("decision.go",)),
    )


def test_what_a_kind_lacks_is_named() -> None:
    assert problems(
        [
            {"slug": "hooks", "kind": "webhook", "url_env": "GONOGO_HOOK_URL"},
            {"slug": "oncall", "kind": "pagerduty"},
            {"slug": "teams", "kind": "teams", "url_env": "GONOGO_X"},
        ]
    ) == [
        (
            "channels[0].secret_env",
            "is required for a webhook: the environment variable that holds its Standard "
            "Webhooks secret (whsec_…)",
        ),
        (
            "channels[1].routing_key_env",
            "is required for PagerDuty: the environment variable that holds the integration's routing key",
        ),
        ("channels[2].kind", "“teams” is not one of: slack, webhook, email, pagerduty"),
    ]


def test_events_must_be_ours_and_pagerduty_only_those_it_acts_on() -> None:
    found = problems(
        [
            {
                "slug": "ops",
                "kind": "slack",
                "url_env": "GONOGO_X",
                "events": ["rollout.halted", "release.exploded"],
            },
            {"slug": "pd", "kind": "pagerduty", "routing_key_env": "GONOGO_PD", "events": ["decision.go"]},
        ]
    )
    assert [key for key, _reason in found] == ["channels[0].events[1]", "channels[1].events[0]"]
    assert found[0][1].startswith("unknown event “release.exploded” (events: decision.go, decision.no_go,")
    assert "rollout.resumed" in found[0][1]
    assert found[1][1].startswith(
        "PagerDuty is sent only rollout.halted, health.breach, flag.kill_failed, rollout.resumed"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["url_env", "secret_env", "routing_key_env"])
def test_every_env_name_is_checked(key: str) -> None:
    names = {"url_env": "GONOGO_HOOK_URL", "secret_env": "GONOGO_HOOK_SECRET", "routing_key_env": "GONOGO_PD"}
    names[key] = "SECRET_KEY"
    lines = "\n".join(f'{k} = "{v}"' for k, v in names.items())
    with pytest.raises(PolicyError) as refused:
        policy_parse(f'[[channels]]\nslug = "hooks"\nkind = "webhook"\n{lines}\n')
    assert f"channels[0].{key}" in str(refused.value) and "must start with GONOGO_" in str(refused.value)


@pytest.mark.django_db
def test_applied_twice_the_second_run_changes_nothing() -> None:
    text = textwrap.dedent(
        """
        [[channels]]
        slug = "oncall"
        kind = "pagerduty"
        routing_key_env = "GONOGO_PD_KEY"
        events = ["rollout.halted", "rollback.recorded"]

        [[channels]]
        slug = "hooks"
        kind = "webhook"
        url_env = "GONOGO_HOOK_URL"
        secret_env = "GONOGO_HOOK_SECRET"
        """
    )
    assert policy_apply(policy_parse(text))
    assert policy_apply(policy_parse(text)) == []
    oncall = Channel.objects.get(slug="oncall")
    assert (oncall.kind, oncall.routing_key_env, oncall.url_env) == ("pagerduty", "GONOGO_PD_KEY", "")
    assert oncall.events == ["rollout.halted", "rollback.recorded"]
    assert Channel.objects.get(slug="hooks").secret_env == "GONOGO_HOOK_SECRET"
