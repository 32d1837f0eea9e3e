"""`[[channels]]`: where alerts go, and what each kind needs."""

from __future__ import annotations

from typing import Any

from notifications.models import ChannelKind
from notifications.senders import PAGERDUTY_EVENTS
from releases.events import EVENTS

from ..specs import ChannelSpec
from .checker import Checker, Known, Shape

SHAPE = Shape(
    section="channels",
    keys={
        "slug": str,
        "kind": str,
        "url_env": str,
        "secret_env": str,
        "routing_key_env": str,
        "email": str,
        "products": list,
        "events": list,
        "active": bool,
    },
    required=("slug", "kind"),
    ident="slug",
)


def channels_parse(c: Checker, entries: list[Any], known: Known) -> tuple[ChannelSpec, ...]:
    """Check each channel's own values (its keys and types are checked by `shapes_check`;
    its `*_env` names by `secret_envs_check`): an e-mail channel has an address, a Slack
    or webhook one the variable of its URL, a webhook its signing secret, a PagerDuty one
    its routing key; each event is one we send. Returns the specs, or nothing once the
    file has a problem (it is refused whole)."""
    for i, ch in enumerate(entries):
        if not isinstance(ch, dict):
            continue
        where = f"channels[{i}]"
        kind = ch.get("kind")
        c.choice(kind, ChannelKind.values, f"{where}.kind")
        if kind == "email" and not ch.get("email"):
            c.add(f"{where}.email", "is required for an e-mail channel")
        if kind in ("slack", "webhook") and not ch.get("url_env"):
            c.add(f"{where}.url_env", "is required: the environment variable that holds the webhook URL")
        if kind == "webhook" and not ch.get("secret_env"):
            c.add(
                f"{where}.secret_env",
                "is required for a webhook: the environment variable that holds its Standard Webhooks "
                "secret (whsec_…)",
            )
        if kind == "pagerduty" and not ch.get("routing_key_env"):
            c.add(
                f"{where}.routing_key_env",
                "is required for PagerDuty: the environment variable that holds the integration's routing key",
            )
        _events_check(c, ch.get("events"), kind, where)
        c.products(ch.get("products"), known, where)
    if c.problems:
        return ()
    return tuple(_channel(ch) for ch in entries)


def _events_check(c: Checker, events: Any, kind: Any, where: str) -> None:
    for j, event in enumerate(events or []):
        if event not in EVENTS:
            c.add(f"{where}.events[{j}]", f"unknown event “{event}” (events: {', '.join(EVENTS)})")
        elif kind == "pagerduty" and event not in PAGERDUTY_EVENTS:
            c.add(
                f"{where}.events[{j}]",
                f"PagerDuty is sent only {', '.join(PAGERDUTY_EVENTS)}: it pages on an automatic halt "
                "or a breach and resolves on resume, rollback or full rollout",
            )


def _channel(ch: dict[str, Any]) -> ChannelSpec:
    # The file's keys are the spec's fields; a key left out keeps the spec's default.
    values = dict(ch)
    if "products" in values:
        values["products"] = tuple(values["products"])
    if "events" in values:
        values["events"] = tuple(dict.fromkeys(values["events"]))
    return ChannelSpec(**values)
