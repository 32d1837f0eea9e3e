"""Reads for the board: what the sign-offs panel shows of Slack (stored state only)."""

from __future__ import annotations

from dataclasses import dataclass, field

from releases.models import Release

from .asks import ask_problem
from .models import SlackAsk, SlackChannel, SlackInteraction


def via_slack_ids(release: Release) -> set[int]:
    """The ids of the release's sign-offs that came from Slack."""
    return set(
        SlackInteraction.objects.filter(signoff__release_id=release.pk).values_list("signoff_id", flat=True)
    )


@dataclass(frozen=True)
class SlackPanel:
    channel_id: str  # '' when the product asks in no channel
    last_ask: SlackAsk | None
    problem: str  # the last ask's failure in words, with what to fix
    via_slack: set[int] = field(default_factory=set)


def slack_for_board(release: Release) -> SlackPanel | None:
    """None when the product has no Slack channel and no sign-off came from Slack."""
    channel = SlackChannel.objects.filter(product_id=release.product_id, active=True).first()
    via = via_slack_ids(release)
    if channel is None and not via:
        return None
    last = SlackAsk.objects.filter(release_id=release.pk).select_related("asked_by").first()
    problem = ask_problem(last) if last is not None and last.error else ""
    return SlackPanel(channel.channel_id if channel else "", last, problem, via)
