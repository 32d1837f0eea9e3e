"""What the board shows of the App Store's phased release for a release."""

from __future__ import annotations

from typing import Any

from releases.models import Release


def appstore_for_board(release: Release) -> Any:
    return None
