"""What a button pressed in Slack does (api.slack.com/reference/interaction-payloads/block-actions).

The view has verified Slack's signature and stored the request (`interaction_store`);
`interaction_process` then reads the payload and, as the Go/No-Go person linked to that
Slack user, records the vote with the board's own service (`board.decisions.signoff_record`:
the role held for the product, the product asks that role, the release takes sign-offs,
a No-Go says why), so a vote from Slack follows exactly the rules of the board. The person
is told through the interaction's `response_url`: a refusal as an ephemeral message only
they see, a vote by updating the original message (who signed what, what is missing).
Those replies are stored in the same transaction and sent after commit (`replies.py`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from audit.services import audit_record
from board.decisions import signoff_record
from core.errors import DomainError
from releases.models import Release, Vote

from .blocks import ACTION_PREFIX, COMMENT_ACTION, COMMENT_BLOCK, action_value_parse, ask_message, role_label
from .models import InteractionStatus, SlackInteraction, SlackLink
from .replies import reply_queue
from .selectors import via_slack_ids

log = logging.getLogger(__name__)


def interaction_store(*, body: bytes, timestamp: str = "") -> SlackInteraction | None:
    """Keep the verified request before anything is done with it; None when this very
    request (its timestamp and body) was kept before: a replay, not processed again."""
    text = body.decode("utf-8", "replace").replace("\x00", "")
    key = hashlib.sha256(timestamp.encode() + b":" + body).hexdigest()
    if SlackInteraction.objects.filter(request_key=key).exists():
        return None
    interaction = SlackInteraction(received_at=timezone.now(), body=text, request_key=key)
    payload = payload_of(text)
    if payload is not None:
        action = _first_action(payload)
        interaction.team_id = str((payload.get("team") or {}).get("id") or "")[:20]
        interaction.slack_user_id = str((payload.get("user") or {}).get("id") or "")[:20]
        interaction.action_id = str(action.get("action_id") or "")[:255]
        interaction.value = str(action.get("value") or "")[:2000]
    try:
        with transaction.atomic():
            interaction.save()
    except IntegrityError:  # the same request, at the same moment
        return None
    return interaction


def payload_of(body: str) -> dict[str, Any] | None:
    """The JSON in the form field `payload`, or None."""
    fields = parse_qs(body, keep_blank_values=True)
    raw = (fields.get("payload") or [""])[0]
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def _first_action(payload: dict[str, Any]) -> dict[str, Any]:
    actions = payload.get("actions")
    if isinstance(actions, list) and actions and isinstance(actions[0], dict):
        return actions[0]
    return {}


def _comment(payload: dict[str, Any]) -> str:
    values = (
        ((payload.get("state") or {}).get("values") or {}) if isinstance(payload.get("state"), dict) else {}
    )
    entry = (values.get(COMMENT_BLOCK) or {}).get(COMMENT_ACTION) or {}
    value = entry.get("value") if isinstance(entry, dict) else None
    return value.strip() if isinstance(value, str) else ""


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def _finish(
    interaction: SlackInteraction, status: str, outcome: str, url: str, reply: dict[str, Any] | None
) -> str:
    interaction.status, interaction.outcome = status, outcome
    interaction.save(update_fields=["status", "outcome", "user", "signoff"])
    if reply is not None and url:
        reply_queue(interaction=interaction, url=url, body=reply)
    return status


@transaction.atomic
def interaction_process(*, interaction_id: int) -> str:
    """Act on a stored interaction once: `recorded`, `refused` or `ignored`."""
    interaction = SlackInteraction.objects.select_for_update().get(pk=interaction_id)
    if interaction.status != InteractionStatus.RECEIVED:
        return interaction.status
    payload = payload_of(interaction.body)
    if payload is None or payload.get("type") != "block_actions":
        return _finish(interaction, InteractionStatus.IGNORED, "not a block_actions payload", "", None)
    raw_url = payload.get("response_url")
    url = raw_url if isinstance(raw_url, str) and raw_url.startswith(("https://", "http://")) else ""
    data = action_value_parse(interaction.value) if interaction.action_id.startswith(ACTION_PREFIX) else None
    if data is None:
        return _finish(interaction, InteractionStatus.IGNORED, "not one of our buttons", "", None)
    release = Release.objects.select_related("product").filter(pk=data["release"]).first()
    if release is None or release.product.slug != data["product"] or release.version != data["version"]:
        with translation.override(None):
            words = _("This release is no longer on Go/No-Go.")
        return _finish(interaction, InteractionStatus.REFUSED, words, url, _ephemeral(words))
    with translation.override(release.product.language):
        return _vote(interaction, payload, release, data, url)


def _vote(
    interaction: SlackInteraction, payload: dict[str, Any], release: Release, data: dict[str, Any], url: str
) -> str:
    link = (
        SlackLink.objects.select_related("user")
        .filter(slack_user_id=interaction.slack_user_id)
        .filter(Q(team_id=interaction.team_id) | Q(team_id=""))
        .order_by("-team_id")
        .first()
    )
    if link is None or not link.user.is_active:
        words = _("You are not linked to a Go/No-Go person: ask an admin to link %(user)s.") % {
            "user": interaction.slack_user_id or "?"
        }
        return _finish(interaction, InteractionStatus.REFUSED, words, url, _ephemeral(words))
    interaction.user = link.user
    role, vote, comment = data["role"], data["vote"], _comment(payload)
    try:
        with transaction.atomic():
            signoff = signoff_record(release=release, role=role, vote=vote, actor=link.user, comment=comment)
            audit_record(
                actor=link.user,
                action="signoff.via_slack",
                obj=signoff,
                after={
                    "role": role,
                    "vote": vote,
                    "slack_user": interaction.slack_user_id,
                    "team": interaction.team_id,
                    "interaction": interaction.pk,
                },
                release_id=release.pk,
            )
    except DomainError as error:
        if error.code == "role_not_held":
            words = _("You do not hold %(role)s for %(product)s.") % {
                "role": role_label(role),
                "product": release.product.name,
            }
        else:
            words = error.message
        return _finish(interaction, InteractionStatus.REFUSED, words, url, _ephemeral(words))
    interaction.signoff = signoff
    interaction.save(update_fields=["signoff"])
    message = ask_message(release, via_slack=via_slack_ids(release))
    words = _("%(role)s: %(vote)s by %(who)s") % {
        "role": role_label(role),
        "vote": Vote(vote).label,
        "who": link.user.get_username(),
    }
    return _finish(
        interaction,
        InteractionStatus.RECORDED,
        words,
        url,
        {"replace_original": True, "text": message["text"], "blocks": message["blocks"]},
    )
