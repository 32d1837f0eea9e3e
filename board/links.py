"""Where a release's board is: the one URL the board's pages, redirects and the waiting
list link to."""

from __future__ import annotations

from django.urls import reverse

from releases.models import Release


def board_url(release: Release, anchor: str = "") -> str:
    url = reverse("board:release_board", kwargs={"product": release.product.slug, "version": release.version})
    return f"{url}#{anchor}" if anchor else url
