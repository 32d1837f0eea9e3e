"""What the board shows of a release's feature flags."""

from __future__ import annotations

from typing import Any

from releases.models import Release


def flags_for_board(release: Release) -> Any:
    """The flags panel of `release` (its product's flags, each with its state read back
    from the provider), or None when the product has no flags."""
    return None
