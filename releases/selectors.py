"""Reads for releases: the active ones, one by its product and version, the products a
person may read."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.capabilities import Capability, can
from core.rows import fetch_one

from .models import ACTIVE_STATES, Product, Release


def active_releases() -> QuerySet[Release]:
    return (
        Release.objects.filter(state__in=ACTIVE_STATES)
        .select_related("product", "owner")
        .order_by("product__slug", "-build_number")
    )


def release_get(product: str, version: str) -> Release:
    """The release `version` of the product with slug `product`, or 404."""
    return get_object_or_404(
        Release.objects.select_related("product", "owner"), product__slug=product, version=version
    )


def release_key(product: str, version: str) -> tuple[int, int]:
    """The id of release `version` of the product with slug `product` and its product's
    id, or 404: one light query, for the board's cached panels."""
    # Written as SQL: the board's re-fetches ask it on every request, and the ORM's
    # compiling costs three times the query itself (issue 16).
    row = fetch_one(
        "SELECT r.id, r.product_id FROM releases_release r JOIN releases_product p"
        " ON p.id = r.product_id WHERE p.slug = %s AND r.version = %s",
        [product, version],
    )
    if row is None:
        raise Http404("No such release.")
    return int(row[0]), int(row[1])


def viewable_products(user: Any) -> list[Product]:
    """The products `user` may read, by slug."""
    return [p for p in Product.objects.order_by("slug") if can(user, Capability.VIEW, p)]
