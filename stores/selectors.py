"""What the board shows of a release's stores: Google Play's production track and the
App Store's phased release."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from releases.models import Release

from .appstore_reads import appstore_for_board
from .play_reads import play_for_board


@dataclass(frozen=True)
class StoresPanel:
    play: Any = None  # stores.play_reads: None when the product has no Play source
    appstore: Any = None  # stores.appstore_reads: None when it has no App Store source

    def __bool__(self) -> bool:
        return self.play is not None or self.appstore is not None


def stores_for_board(release: Release) -> StoresPanel | None:
    """The stores panel of `release`, or None when its product ships through no store."""
    panel = StoresPanel(play=play_for_board(release), appstore=appstore_for_board(release))
    return panel if panel else None
