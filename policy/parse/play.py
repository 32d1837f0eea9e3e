"""`[products.play]`: the product's Google Play source (docs/google-play.md): the app's
package, the variable holding the service account's JSON key, the track the board
drives, and whether it is active."""

from __future__ import annotations

import re
from typing import Any

from ..specs import PlaySpec
from .checker import Checker

PLAY_KEYS = {"package_name": str, "key_env": str, "track": str, "active": bool}
# Android's applicationId: two or more dot-separated segments of letters, digits and _,
# each starting with a letter (developer.android.com/build/configure-app-module).
PACKAGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
TRACK_RE = re.compile(r"^[A-Za-z0-9_:\-]{1,60}$")  # production, beta, wear:production, a closed track's name


def play_check(c: Checker, play: Any, where: str, *, platform: Any) -> None:
    """The table's keys and values (`key_env` is also checked with every `*_env`)."""
    c.table(play, PLAY_KEYS, where)
    if not isinstance(play, dict):
        return
    if platform != "android":
        c.add(
            where, f"Google Play releases Android apps: this product's platform is “{platform}”, not android"
        )
    for key in ("package_name", "key_env"):
        if key not in play:
            c.add(f"{where}.{key}", "is required")
    package = play.get("package_name")
    if isinstance(package, str) and (not PACKAGE_RE.match(package) or len(package) > 150):
        c.add(f"{where}.package_name", "must be the app's package name, for example com.acme.shop")
    track = play.get("track")
    if isinstance(track, str) and not TRACK_RE.match(track):
        c.add(f"{where}.track", "must be a track's name, for example production")


def play_spec(play: dict[str, Any] | None) -> PlaySpec | None:
    if play is None:
        return None
    return PlaySpec(
        package_name=play["package_name"],
        key_env=play["key_env"],
        track=play.get("track", "production"),
        active=play.get("active", True),
    )
