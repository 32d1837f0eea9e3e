"""The decorator every view uses: signed in, and a role somewhere (or a superuser).

Who may do what is `accounts.capabilities` (`can(user, Capability.X, product)`); the
per-product checks happen in the view and again in the service.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse

from .capabilities import Capability, ensure_can


def viewer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Login, then any role anywhere (per-product checks happen in the view). Signed out,
    a page redirects to the login form; an htmx request (a panel's refresh or action after
    the session expired) is answered 204 with HX-Redirect, so the whole page goes to the
    login form and back to the page afterwards, instead of the form landing in a panel."""

    @wraps(view)
    def viewer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        ensure_can(request.user, Capability.VIEW)
        return view(request, *args, **kwargs)

    signed_in = login_required(viewer)

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        htmx = getattr(request, "htmx", None)  # django_htmx's middleware
        if htmx and not request.user.is_authenticated:
            response = HttpResponse(status=204)
            page = htmx.current_url_abs_path or request.get_full_path()
            response["HX-Redirect"] = redirect_to_login(page).url
            return response
        return signed_in(request, *args, **kwargs)

    return wrapped
