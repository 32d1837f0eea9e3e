"""The one permission helper every view uses.

A user's roles are read once per request. A global membership (no product) counts for
every product. Superusers may read everything, but they act only through the roles they
hold: being an administrator is not a sign-off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url

from .models import RoleMembership

_CACHE_ATTR = "_gonogo_role_pairs"


def _role_pairs(user: Any) -> frozenset[tuple[str, int | None]]:
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(RoleMembership.objects.filter(user_id=user.pk).values_list("role", "product_id"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def roles_for(user: Any, product: Any = None) -> set[str]:
    """The roles `user` holds for `product` (global memberships included).

    With `product=None`, every role the user holds anywhere.
    """
    pairs = _role_pairs(user)
    if product is None:
        return {role for role, _ in pairs}
    product_id = getattr(product, "pk", product)
    return {role for role, pid in pairs if pid is None or pid == product_id}


def has_role(user: Any, roles: Iterable[str] | str, product: Any = None) -> bool:
    """True when the user holds any of `roles` for `product` (or anywhere, if None)."""
    wanted = {roles} if isinstance(roles, str) else set(roles)
    return bool(roles_for(user, product) & wanted)


def can_view(user: Any, product: Any = None) -> bool:
    """Reading a board: any role on the product, or a superuser."""
    if getattr(user, "is_superuser", False) and getattr(user, "is_active", False):
        return True
    return bool(roles_for(user, product))


def viewable_products(user: Any) -> list[Any]:
    """The products `user` may read, by slug."""
    from releases.models import Product

    return [p for p in Product.objects.order_by("slug") if can_view(user, p)]


def ensure_view(user: Any, product: Any = None) -> None:
    if not can_view(user, product):
        raise PermissionDenied("You hold no role on this product.")


def ensure_role(user: Any, roles: Iterable[str] | str, product: Any = None) -> None:
    if not has_role(user, roles, product):
        raise PermissionDenied("This action needs a role you do not hold.")


def viewer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login, then any role anywhere (per-product checks happen in the view). An htmx
    request whose session has expired sends the whole page to the login form, instead of
    the login form landing inside a panel."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = f"{resolve_url(settings.LOGIN_URL)}?next={request.get_full_path()}"
            return response
        ensure_view(request.user)
        return view(request, *args, **kwargs)

    return login_required(wrapped)
