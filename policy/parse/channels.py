"""`[[channels]]`: where alerts go, and what each kind needs."""

from __future__ import annotations

from typing import Any

from notifications.models import ChannelKind

from ..specs import ChannelSpec
from .checker import Checker, Known, Shape

SHAPE = Shape(
    section="channels",
    keys={"slug": str, "kind": str, "url_env": str, "email": str, "products": list, "active": bool},
    required=("slug", "kind"),
    ident="slug",
)


def channels_parse(c: Checker, entries: list[Any], known: Known) -> tuple[ChannelSpec, ...]:
    """Check each channel's own values (its keys and types are checked by `shapes_check`;
    its `url_env` name by `secret_envs_check`): an e-mail channel has an address, a Slack
    or webhook one the variable of its URL. Returns the specs, or nothing once the file
    has a problem (it is refused whole)."""
    for i, ch in enumerate(entries):
        if not isinstance(ch, dict):
            continue
        where = f"channels[{i}]"
        c.choice(ch.get("kind"), ChannelKind.values, f"{where}.kind")
        if ch.get("kind") == "email" and not ch.get("email"):
            c.add(f"{where}.email", "is required for an e-mail channel")
        if ch.get("kind") in ("slack", "webhook") and not ch.get("url_env"):
            c.add(f"{where}.url_env", "is required: the environment variable that holds the webhook URL")
        c.products(ch.get("products"), known, where)
    if c.problems:
        return ()
    return tuple(_channel(ch) for ch in entries)


def _channel(ch: dict[str, Any]) -> ChannelSpec:
    # The file's keys are the spec's fields; a key left out keeps the spec's default.
    return ChannelSpec(**{**ch, "products": tuple(ch["products"])} if "products" in ch else ch)
