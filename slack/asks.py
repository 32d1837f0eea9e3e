"""Asking a release's missing sign-offs in its product's Slack channel (PM/PO).

`slack_ask_request` stores the ask (audited, the board refreshed) and queues it after
commit; `slack_ask_send` is one attempt (the Celery task `slack.ask_post`), recording
Slack's answer: `channel` and `ts` when posted, its `error` otherwise, which the board's
sign-offs panel explains with what to fix (`ask_problem`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.capabilities import Capability, can
from audit.services import audit_record
from board.selectors import release_board
from core.errors import Conflict, NotAllowed
from live.services import live_notify
from releases.lifecycle import release_lock_get
from releases.models import SIGNOFF_STATES, Release, ReleaseState

from . import config, outbox
from .blocks import ask_message, missing_roles
from .models import SendStatus, SlackAsk, SlackChannel
from .web import Outcome, message_post

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)


def product_channel(release: Release) -> SlackChannel | None:
    return SlackChannel.objects.filter(product_id=release.product_id, active=True).first()


@transaction.atomic
def slack_ask_request(*, release: Release, actor: User | None) -> SlackAsk:
    """A PM/PO asks the missing sign-offs in the product's channel."""
    release = release_lock_get(release)
    if not can(actor, Capability.ASK_IN_SLACK, release.product):
        raise NotAllowed("role_not_held", _("Only a PM/PO can ask for sign-offs in Slack."))
    channel = product_channel(release)
    if channel is None:
        raise Conflict(
            "slack_no_channel",
            _(
                "%(product)s has no Slack channel: an administrator sets one (Settings → Slack channels, "
                "or [products.slack] in the policy file)."
            )
            % {"product": release.product.name},
        )
    if not config.bot_token():
        raise Conflict(
            "slack_not_configured",
            _(
                "The server has no Slack bot token: its administrator sets GONOGO_SLACK_BOT_TOKEN (docs/slack.md)."
            ),
        )
    if release.state not in SIGNOFF_STATES:
        raise Conflict(
            "illegal_state",
            _("Sign-offs are taken while the release is a candidate, not in state “%(state)s”.")
            % {"state": ReleaseState(release.state).label},
        )
    if SlackAsk.objects.filter(release=release, status=SendStatus.PENDING).exists():
        raise Conflict(
            "slack_ask_pending",
            _(
                "An ask for this release is still on its way to Slack: wait for it (the board says when it is posted)."
            ),
        )
    roles = missing_roles(release_board(release))
    if not roles:
        raise Conflict("nothing_missing", _("Every sign-off is in: there is nothing to ask in Slack."))
    now = timezone.now()
    ask = SlackAsk.objects.create(
        release=release,
        channel_id=channel.channel_id,
        roles=roles,
        asked_by=actor,
        asked_at=now,
        next_attempt_at=now,
    )
    audit_record(
        actor=actor,
        action="slack.ask",
        obj=ask,
        after={"channel": channel.channel_id, "roles": roles},
        release_id=release.pk,
    )
    live_notify(release_id=release.pk, change="signoff")
    ask_enqueue_on_commit(ask.pk)
    return ask


def ask_enqueue_on_commit(pk: int) -> None:
    transaction.on_commit(lambda: ask_enqueue(pk, 0), robust=True)


def ask_enqueue(pk: int, countdown: float) -> None:
    from . import tasks  # the tasks module imports this one

    try:
        tasks.ask_post_task.apply_async(args=(pk,), countdown=countdown)
    except Exception:  # the broker: the sweep queues it again
        log.warning("slack ask %s not queued; the sweep will queue it", pk, exc_info=True)


def _send(ask: SlackAsk) -> Outcome:
    message = ask_message(ask.release, via_slack=set())
    return message_post(ask.channel_id, message["text"], message["blocks"])


def _done(ask: SlackAsk, outcome: Outcome) -> None:
    if outcome.ok:
        ask.posted_channel = str(outcome.data.get("channel", ""))[:20]
        ask.message_ts = str(outcome.data.get("ts", ""))[:40]
        ask.error = ""
    else:
        ask.error = outcome.error[:100]
    ask.save(update_fields=["posted_channel", "message_ts", "error"])
    if ask.status != SendStatus.PENDING:
        audit_record(
            actor=None,
            action="slack.ask_posted" if outcome.ok else "slack.ask_failed",
            obj=ask,
            after={"channel": ask.posted_channel or ask.channel_id, "ts": ask.message_ts, "error": ask.error},
            release_id=ask.release_id,
        )
    live_notify(release_id=ask.release_id, change="signoff")


def slack_ask_send(*, ask_id: int, now: Any = None) -> str:
    """One attempt at posting ask `ask_id`: `sent`, `retry`, `failed` or `skipped`."""
    return outbox.attempt(SlackAsk, ask_id, _send, enqueue=ask_enqueue, done=_done, now=now)


def ask_problem(ask: SlackAsk) -> str:
    """What went wrong with the ask, and what to fix, in words for the board."""
    channel = ask.channel_id
    error = ask.error
    if error == "channel_not_found":
        return _(
            "Slack does not know the channel %(channel)s: check the channel id in Settings → Slack channels "
            "(in Slack: the channel's details, at the bottom)."
        ) % {"channel": channel}
    if error == "not_in_channel":
        return _(
            "The Go/No-Go app is not in the channel %(channel)s: in Slack, invite it to the channel "
            "(/invite @Go/No-Go), then ask again."
        ) % {"channel": channel}
    if error == "is_archived":
        return _("The channel %(channel)s is archived: choose another in Settings → Slack channels.") % {
            "channel": channel
        }
    if error in (
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "account_inactive",
        "token_expired",
        "no_token",
    ):
        return _(
            "Slack refused the bot token: the server's administrator sets GONOGO_SLACK_BOT_TOKEN to the app's "
            "Bot User OAuth Token (xoxb-…) and restarts it."
        )
    if error == "missing_scope":
        return _(
            "The Slack app lacks the chat:write scope: add it under OAuth & Permissions and reinstall the app."
        )
    if error in ("timeout", "unreachable"):
        return _("Slack could not be reached.")
    if error == "rate_limited" or error == "ratelimited":
        return _("Slack asked us to slow down.")
    if error.startswith("http_"):
        return _("Slack answered with an error (%(code)s).") % {"code": error[5:]}
    return _("Slack answered “%(error)s”.") % {"error": error}
