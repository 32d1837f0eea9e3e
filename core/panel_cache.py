"""Render once, serve many (issue 16): a live panel's HTML is rendered once per change of
its release, per language, time zone and viewer-dependent part (the buttons a role sees),
and served from Redis to every viewer until the next change.

Correctness rests on one order. Every change of a release bumps its version *after* its
transaction commits and *before* its live event is sent (live.services.live_notify; the
audit trail bumps too, so a change that no panel names still invalidates; each also bumps
at once, so a read inside the changing transaction sees it); a render reads the version
*before* it reads the database. So a render stored under version v read the
database after v was current; a viewer told of a change (the event came after the bump)
asks with a newer version and never gets HTML from before it. A change of configuration
(an audit event with no release: a gate, a product, a role) bumps the global version,
part of every key. Time alone changes some words (soak remaining, "for 5 min"): an entry
lives at most `GONOGO_PANEL_CACHE_SECONDS` (30).

The CSRF token never enters the cache: it is swapped for a placeholder before storing and
the viewer's own put back on the way out. Without Redis (`make run` with nothing set)
there is no cache: every panel is rendered, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

from .redisconn import redis_client

logger = logging.getLogger(__name__)

PREFIX = "gonogo:panels:"
GLOBAL = "global"
CSRF_PLACEHOLDER = "\x00gonogo-csrf\x00"


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.GONOGO_PANEL_CACHE_SECONDS > 0


def _version_key(scope: int | str) -> str:
    return f"{PREFIX}v:{scope}"


def versions_bump(release_ids: set[int | None]) -> None:
    """Now (call it after commit): a new version for each release (None: the global one)."""
    if not enabled() or not release_ids:
        return
    try:
        pipe = redis_client().pipeline(transaction=False)
        for pk in release_ids:
            pipe.incr(_version_key(GLOBAL if pk is None else pk))
        pipe.execute()
    except Exception:  # a lost bump must not fail the change: drop every entry instead
        logger.exception("panel cache: version bump failed; flushing the panel cache")
        cache_flush()


def versions_bump_on_commit(release_ids: set[int | None]) -> None:
    """Now, and again after the current transaction commits (once, outside one). The
    second bump is what correctness rests on (a render between the two read the database
    before the commit); the first lets a read in the same transaction see its change."""
    ids = set(release_ids)
    versions_bump(ids)
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(lambda: versions_bump(ids))


def version_of(release_id: int) -> str | None:
    """The release's version and the global one, as part of a key; None: no cache now."""
    if not enabled():
        return None
    try:
        mine, shared = redis_client().mget(_version_key(release_id), _version_key(GLOBAL))
    except Exception:
        logger.warning("panel cache: Redis unavailable; rendering", exc_info=True)
        return None
    return f"{int(mine or 0)}.{int(shared or 0)}"


def variant_of(*parts: Any) -> str:
    """A short digest of what a viewer's panel depends on besides the release."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class PanelScope:
    """Where one request's panels are cached: the release at the version read before its
    data, and the viewer's variant — language, time zone and roles (what every button
    depends on) — and, for the panels that name the person (`per_person`), the user."""

    release_id: int
    version: str
    viewer: str
    person: str

    def key(self, panel: str, *, per_person: bool) -> str:
        variant = self.person if per_person else self.viewer
        return f"{PREFIX}p:{self.release_id}:{self.version}:{panel}:{variant}"


def scope_for(release_id: int, *, roles: Any, user_id: int | None) -> PanelScope | None:
    """The request's scope, reading the release's version now: call it before reading
    anything of the release. None when there is no cache (no Redis, or it is off)."""
    version = version_of(release_id)
    if version is None:
        return None
    where = (translation.get_language(), timezone.get_current_timezone_name(), sorted(roles))
    return PanelScope(release_id, version, variant_of(*where), variant_of(*where, user_id))


def cache_get(key: str) -> str | None:
    try:
        value = redis_client().get(key)
    except Exception:
        return None
    return value.decode() if value is not None else None


def cache_put(key: str, html: str) -> None:
    try:
        redis_client().set(key, html.encode(), ex=settings.GONOGO_PANEL_CACHE_SECONDS)
    except Exception:
        logger.warning("panel cache: could not store %s", key, exc_info=True)


def cache_flush() -> None:
    """Drop every cached panel (tests; a failed version bump)."""
    try:
        client = redis_client()
        for key in client.scan_iter(match=f"{PREFIX}p:*", count=500):
            client.delete(key)
    except Exception:
        logger.exception("panel cache: flush failed")
