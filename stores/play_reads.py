"""What the board shows of Google Play's production track for a release."""

from __future__ import annotations

from typing import Any

from releases.models import Release


def play_for_board(release: Release) -> Any:
    return None
