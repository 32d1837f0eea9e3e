"""Render once, serve many (issue 16): a live panel's HTML is rendered once per change of
its release, per language, time zone and viewer-dependent part (the buttons a role sees),
and served from Redis to every viewer until the next change.

Correctness rests on one order. Every change of a release bumps its version *after* its
transaction commits and *before* its live event is sent (live.services.live_notify; the
audit trail bumps too, so a change that no panel names still invalidates; each also bumps
at once, so a read inside the changing transaction sees it); a render reads the version
*before* it reads the database, and its entry carries the version it read. So an entry
of version v was rendered from the database as it was after every change up to v had
committed; a viewer told of a change (the event came after the bump) asks with a version
above any entry from before it and is never served that. A change of configuration (an
audit event with no release: a gate, a product, a role) bumps the global version, which
every entry carries too. Time alone changes some words (soak remaining, "for 5 min"): what
is served is at most `GONOGO_PANEL_CACHE_SECONDS` (30) old (`ttl`).

The CSRF token never enters the cache: it is swapped for a placeholder before storing and
the viewer's own put back on the way out. Without Redis (`make run` with nothing set), or
while Redis does not answer, there is no cache: every panel is rendered, as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation

logger = logging.getLogger(__name__)

PREFIX = "gonogo:panels:"
GLOBAL = "global"
CSRF_PLACEHOLDER = "\x00gonogo-csrf\x00"
WAIT_SECONDS = 1.0  # the most a request waits for another's render of the same panel


def enabled() -> bool:
    return bool(settings.REDIS_URL) and settings.GONOGO_PANEL_CACHE_SECONDS > 0


# Redis for the cache: short timeouts and no retries, and after a failure it is left alone
# for DOWN_SECONDS (a change, a board read never waits on a Redis that is away: without
# the cache every panel is rendered). A bump that could not be made is made up for when
# Redis answers again — the global version first, so no entry from before is served.
DOWN_SECONDS = 5.0
_link: dict[str, Any] = {"clients": {}, "url": None, "down_until": 0.0, "missed_bump": False}
_missed_lock = threading.Lock()


def _redis(*, write: bool = False) -> Any:
    """Reads give up after 0.25 s (the panel is rendered instead); writes — a version
    bump, an entry — wait up to 2 s and retry once: a bump lost to a short stall while the
    live event still goes out would leave the boards it tells with what they had."""
    if _link["url"] != settings.REDIS_URL:
        _link["clients"], _link["url"] = {}, settings.REDIS_URL
    client = _link["clients"].get(write)
    if client is None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        timeout = 2.0 if write else 0.25
        client = _link["clients"][write] = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1 if write else 0),
        )
    return client


def _down(exc: BaseException) -> None:
    logger.warning("panel cache: Redis unavailable (%s); rendering every panel for %.0f s", exc, DOWN_SECONDS)
    _link["down_until"] = time.monotonic() + DOWN_SECONDS


def _available() -> bool:
    if time.monotonic() < _link["down_until"]:
        return False
    with _missed_lock:
        if _link["missed_bump"]:
            try:
                _redis(write=True).incr(_version_key(GLOBAL))
            except Exception as exc:
                _down(exc)
                return False
            _link["missed_bump"] = False
    return True


def _missed() -> None:
    with _missed_lock:
        _link["missed_bump"] = True


def ttl() -> int:
    """An entry's life: half the setting, so a page kept from kept panels is at most the
    setting's seconds old in all."""
    return max(1, settings.GONOGO_PANEL_CACHE_SECONDS // 2)


def _version_key(scope: int | str) -> str:
    return f"{PREFIX}v:{scope}"


def versions_bump(release_ids: set[int | None]) -> None:
    """Now (call it after commit): a new version for each release (None: the global one)."""
    if not enabled() or not release_ids:
        return
    if not _available():
        _missed()
        return
    try:
        pipe = _redis(write=True).pipeline(transaction=False)
        for pk in release_ids:
            pipe.incr(_version_key(GLOBAL if pk is None else pk))
        pipe.execute()
    except Exception as exc:  # a lost bump must not fail the change: made up for later
        _missed()
        _down(exc)


def versions_bump_on_commit(release_ids: set[int | None]) -> None:
    """Now, and again after the current transaction commits (once, outside one). The
    second bump is what correctness rests on (a render between the two read the database
    before the commit); the first lets a read in the same transaction see its change.
    After commit each release is bumped once, however many changes the transaction made
    (an audit event and a live event each ask)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        versions_bump(set(release_ids))
        return
    pending: _Pending | None = getattr(connection, "_gonogo_panel_bumps", None)
    if pending is None or not any(entry[1] is pending for entry in connection.run_on_commit):
        pending = _Pending(connection)  # none registered in this transaction (or it rolled back)
        connection._gonogo_panel_bumps = pending
        transaction.on_commit(pending)
    pending.ids |= set(release_ids)
    versions_bump(set(release_ids))


class _Pending:
    """The after-commit bump of one transaction: every release it changed, once."""

    def __init__(self, connection: Any) -> None:
        self.connection, self.ids = connection, set[int | None]()

    def __call__(self) -> None:
        if getattr(self.connection, "_gonogo_panel_bumps", None) is self:
            self.connection._gonogo_panel_bumps = None
        versions_bump(self.ids)


Version = tuple[int, int]  # the release's, the global one


def version_of(release_id: int, *keys: str) -> tuple[Version, list[str | None]] | None:
    """The release's version and the global one, and the entries at `keys`, in one round
    trip; None: no cache now."""
    if not enabled() or not _available():
        return None
    try:
        mine, shared, *values = _redis().mget(_version_key(release_id), _version_key(GLOBAL), *keys)
    except Exception as exc:
        _down(exc)
        return None
    return (int(mine or 0), int(shared or 0)), [v.decode() if v is not None else None for v in values]


def variant_of(*parts: Any) -> str:
    """A short digest of what a viewer's panel depends on besides the release."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


@dataclass
class PanelScope:
    """Where one request's panels are cached: the release, the versions read before its
    data, and the viewer's variant — language, time zone and roles (what every button
    depends on) — and, for the panels that name the person (`per_person`), the user.

    One entry per panel and variant holds the newest render with the versions it read
    before it read the database; a request serves it when those are at least its own (so
    during a burst of changes every viewer shares the newest render, whichever version
    each read), else renders."""

    release_id: int
    version: Version
    viewer: str
    person: str
    per_person: frozenset[str] = frozenset()
    prefetched: dict[str, str | None] = field(default_factory=dict)

    def key(self, panel: str) -> str:
        variant = self.person if panel in self.per_person else self.viewer
        return f"{PREFIX}p:{self.release_id}:{panel}:{variant}"

    def prefetch(self, panels: Iterable[str]) -> None:
        """Read the entries of `panels` in one round trip (the whole page's)."""
        keys = [self.key(panel) for panel in panels]
        try:
            values = _redis().mget(keys)
        except Exception as exc:
            _down(exc)
            return
        self.prefetched.update(
            (key, value.decode() if value is not None else None)
            for key, value in zip(keys, values, strict=True)
        )

    def cached(self, panel: str) -> str | None:
        """The panel's HTML (CSRF placeholder in it) when a new enough entry is kept."""
        key = self.key(panel)
        if key not in self.prefetched:  # read once per request: a miss is not read again
            self.prefetched[key] = cache_get(key)
        return self.fresh(self.prefetched[key])

    def fresh(self, stored: str | None) -> str | None:
        """The HTML of entry `stored` when it is new enough for this request."""
        if stored is None:
            return None
        head, _sep, html = stored.partition("\n")
        try:
            mine, shared = (int(v) for v in head.split("."))
        except ValueError:
            return None  # not an entry of ours: render
        return html if mine >= self.version[0] and shared >= self.version[1] else None

    def entry(self, html: str) -> str:
        return f"{self.version[0]}.{self.version[1]}\n{html}"


def scope_for(
    release_id: int,
    *,
    roles: Any,
    user_id: int | None,
    per_person: Iterable[str] = (),
    panels: Iterable[str] = (),
    page: str | None = None,
) -> PanelScope | None:
    """The request's scope, reading the release's versions now: call it before reading
    anything of the release. None when there is no cache (no Redis, or it is off).

    The entries of `panels`, and of the whole page at path `page`, are read in the same
    round trip as the versions (one MGET: a re-fetch served from the cache costs one trip
    to Redis). Each entry carries the versions it was rendered at, which `fresh` holds
    against the ones read here, so reading them together changes nothing of what is served."""
    where = (translation.get_language(), timezone.get_current_timezone_name(), sorted(roles))
    scope = PanelScope(
        release_id, (0, 0), variant_of(*where), variant_of(*where, user_id), frozenset(per_person)
    )
    keys = [scope.key(panel) for panel in panels] + ([page_key(scope, page)] if page is not None else [])
    read = version_of(release_id, *keys)
    if read is None:
        return None
    scope.version, values = read
    scope.prefetched.update(zip(keys, values, strict=True))
    return scope


NONCE_PLACEHOLDER = "\x00gonogo-nonce\x00"
_FORM_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def page_key(scope: PanelScope, path: str) -> str:
    """The whole page's entry: per person (it names them; their language and zone)."""
    where = hashlib.sha256(path.encode()).hexdigest()[:16]
    return f"{PREFIX}p:{scope.release_id}:page:{scope.person}:{where}"


def page_kept(html: str, nonce: str) -> str:
    """A rendered page as kept: its CSRF token and CSP nonce taken out."""
    token = _FORM_TOKEN.search(html)
    if token:
        html = html.replace(token.group(1), CSRF_PLACEHOLDER)
    return html.replace(f'nonce="{nonce}"', f'nonce="{NONCE_PLACEHOLDER}"') if nonce else html


def page_served(kept: str, token: str, nonce: str) -> str:
    return with_token(kept, token).replace(NONCE_PLACEHOLDER, nonce)


def with_token(html: str, token: str) -> str:
    """Cached HTML with the viewer's own CSRF token put back."""
    return html.replace(CSRF_PLACEHOLDER, token)


def cache_get(key: str) -> str | None:
    if not _available():
        return None
    try:
        value = _redis().get(key)
    except Exception as exc:
        _down(exc)
        return None
    return value.decode() if value is not None else None


def render_once(scope: PanelScope, key: str, render: Any) -> str | None:
    """On a miss: the first asker renders (`render()`, which stores its entry); the others
    asking meanwhile wait for a new enough entry (up to `WAIT_SECONDS`) instead of
    rendering it again: after a change, a room of open boards costs one render per panel
    and variant, not one per board. None when the wait ran out (render for yourself)."""
    mark = uuid.uuid4().hex.encode()
    if not _available():
        return None
    try:
        mine = _redis(write=True).set(key + ":lock", mark, nx=True, px=int(WAIT_SECONDS * 2000))
    except Exception as exc:
        _down(exc)
        return None
    if mine:
        try:
            return render()
        finally:
            try:
                if _redis().get(key + ":lock") == mark:
                    _redis(write=True).delete(key + ":lock")
            except Exception as exc:
                _down(exc)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline and _available():
        time.sleep(0.01)
        html = scope.fresh(cache_get(key))
        if html is not None:
            return html
    return None


def cache_put(key: str, html: str) -> None:
    if not _available():
        return
    try:
        _redis(write=True).set(key, html.encode(), ex=ttl())
    except Exception as exc:
        _down(exc)
