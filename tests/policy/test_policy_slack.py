"""`[products.slack]`: the channel a product asks its missing sign-offs in (docs/slack.md)."""

from __future__ import annotations

import textwrap

import pytest

from audit.models import AuditEvent
from policy.parse.checker import PolicyError
from policy.schema import policy_parse
from policy.services import policy_apply
from slack.models import SlackChannel

pytestmark = pytest.mark.django_db


def file(slack: str) -> str:
    return textwrap.dedent(
        """
        [[products]]
        slug = "ios-app"
        name = "iOS app"
        platform = "ios"
        """
    ) + textwrap.dedent(slack)


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as refused:
        policy_parse(text)
    return [f"{p.key}: {p.reason}" for p in refused.value.problems]


def test_the_channel_is_applied_audited_and_kept_when_left_out() -> None:
    changes = policy_apply(policy_parse(file('[products.slack]\nchannel = "C0123456789"\n')))
    assert "created slack channel ios-app" in changes
    channel = SlackChannel.objects.get()
    assert (channel.product.slug, channel.channel_id, channel.active) == ("ios-app", "C0123456789", True)
    assert AuditEvent.objects.filter(action="policy.create", object_type__icontains="slack").exists()
    assert policy_apply(policy_parse(file('[products.slack]\nchannel = "C0123456789"\n'))) == []
    changes = policy_apply(policy_parse(file('[products.slack]\nchannel = "C0999999999"\nactive = false\n')))
    assert any(c.startswith("updated slack channel ios-app") for c in changes)
    policy_apply(policy_parse(file("")))  # no [products.slack]: the stored channel stays
    channel.refresh_from_db()
    assert (channel.channel_id, channel.active) == ("C0999999999", False)


@pytest.mark.parametrize(
    ("table", "words"),
    [
        ('channel = "#releases"', "products[0].slack.channel: must be the channel's id"),
        ("active = true", "products[0].slack.channel: is required"),
        ('channel = "C0123456789"\ntoken = "xoxb-1"', "products[0].slack.token"),
    ],
)
def test_a_bad_table_is_refused(table: str, words: str) -> None:
    problems = problems_of(file(f"[products.slack]\n{table}\n"))
    assert any(p.startswith(words) for p in problems), problems
