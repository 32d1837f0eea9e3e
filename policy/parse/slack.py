"""`[products.slack]`: the Slack channel a product asks its missing sign-offs in
(docs/slack.md). The bot token and signing secret are the server's environment's
(GONOGO_SLACK_BOT_TOKEN, GONOGO_SLACK_SIGNING_SECRET), never the file's."""

from __future__ import annotations

import re
from typing import Any

from ..specs import SlackSpec
from .checker import Checker

SLACK_KEYS = {"channel": str, "active": bool}
CHANNEL_RE = re.compile(r"^[CGD][A-Z0-9]{6,19}$")


def slack_check(c: Checker, table: dict[str, Any], where: str) -> None:
    c.table(table, SLACK_KEYS, where)
    channel = table.get("channel")
    if "channel" not in table:
        c.add(f"{where}.channel", 'is required: the channel\'s id, like "C0123456789"')
    elif isinstance(channel, str) and not CHANNEL_RE.match(channel):
        c.add(
            f"{where}.channel",
            "must be the channel's id, like \"C0123456789\" (in Slack: the channel's details, at the bottom), "
            "not its name",
        )


def slack_spec(table: dict[str, Any] | None) -> SlackSpec | None:
    if table is None:
        return None
    return SlackSpec(channel=table["channel"], active=table.get("active", True))
