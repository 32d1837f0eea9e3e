"""What the board's cached GETs share within one web process (core/panel_cache.py keeps
the HTML in Redis): the board read for a version, and whether a message waits."""

from __future__ import annotations

import threading
import time

from django.contrib import messages
from django.http import HttpRequest
from django.utils import timezone, translation

from core.panel_cache import PanelScope
from releases.models import Release

from .selectors import ReleaseBoard, release_board

# The board read for a version, kept a moment for this process's other requests of it:
# after a change a board re-fetches several panels at once, and each that misses the
# panel cache would otherwise read the whole board again. Keyed by the versions read
# before the board was (core/panel_cache.py), so a newer request never gets an older one.
_BOARDS: dict[tuple[int, tuple[int, int], str, str], tuple[float, ReleaseBoard]] = {}
_BOARDS_LOCK = threading.Lock()
BOARD_KEPT_SECONDS = 2.0


def shared_board(release: Release, scope: PanelScope | None) -> ReleaseBoard:
    if scope is None:
        return release_board(release)
    # Its words (blockers, stale reasons, rule changes) are in the reader's language and
    # time zone: shared only with readers of the same.
    key = (release.pk, scope.version, translation.get_language(), timezone.get_current_timezone_name())
    now = time.monotonic()
    with _BOARDS_LOCK:
        kept = _BOARDS.get(key)
        if kept is not None and kept[0] > now:
            return kept[1]
    board = release_board(release)
    with _BOARDS_LOCK:
        for old in [k for k, (until, _b) in _BOARDS.items() if until <= now]:
            del _BOARDS[old]
        _BOARDS[key] = (now + BOARD_KEPT_SECONDS, board)
    return board


def no_message_waits(request: HttpRequest) -> bool:
    """No flash message waits for this request (a page showing one is shown once: never
    kept). Looks without consuming them."""
    return len(messages.get_messages(request)) == 0  # len() reads them without marking them shown
