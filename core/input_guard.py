"""The one place a request's text is checked for NUL (U+0000) before any view sees it.

PostgreSQL text cannot hold a NUL, so a value carrying one would fail deep inside a view
with a 500. Any URL parameter, query-string field or form field (name or value) holding
one is refused here with a 400 naming the field: problem+json for the API, for htmx the
reason shown above the page (as other refused actions show theirs), otherwise a page
saying what to fix. JSON bodies are checked by `api.auth.json_object`, which names the
field by its JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django_htmx.http import reswap, retarget

from .problems import problem
from .validation import NUL, field_label

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _in(data: QueryDict) -> str | None:
    for name, values in data.lists():
        if NUL in name or any(NUL in value for value in values if isinstance(value, str)):
            return field_label(name)
    return None


def _path_field(path: str) -> str:
    """The URL parameter holding the NUL: the one that differs when the NUL is read as one
    URL-safe character or another (a NUL itself may not match the parameter's converter)."""
    try:
        one, other = resolve(path.replace(NUL, "-")), resolve(path.replace(NUL, "_"))
    except Resolver404:
        return "path"
    return next((name for name, value in one.kwargs.items() if other.kwargs.get(name) != value), "path")


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(("/api/", "/healthz", "/readyz"))  # as core.problems.is_api


def nul_field(request: HttpRequest) -> str | None:
    """The first field of `request` (URL parameter, query string, form) holding a NUL."""
    if NUL in request.path_info:
        return _path_field(request.path_info)
    if NUL in request.META.get("QUERY_STRING", "") or "%00" in request.META.get("QUERY_STRING", ""):
        found = _in(request.GET)
        if found:
            return found
    # The API reads JSON bodies itself (and a multipart body read here could not be read
    # again as raw bytes there).
    if request.method == "POST" and not _is_api(request) and request.content_type in FORM_TYPES:
        return _in(request.POST)
    return None


def refusal(request: HttpRequest, field: str) -> HttpResponse:
    """The 400 for a NUL in `field`, in the form the request's sender reads."""
    if _is_api(request):
        return problem(
            400,
            "nul_character",
            f"Text may not contain the NUL character (\\u0000); remove it from {field}.",
            errors=[{"field": field, "message": "Contains a NUL character (\\u0000)."}],
        )
    message = _(
        "“%(field)s” contains an invisible control character (NUL, often pasted in by mistake) "
        "that cannot be stored. Delete it, or type the text again, and send it once more."
    ) % {"field": field}
    if request.headers.get("HX-Request"):
        response = HttpResponse(
            format_html('<ul class="messages" role="alert"><li class="msg-error">{}</li></ul>', message),
            status=400,
        )
        # Shown at the top of the panel that asked (where the person is looking), without
        # replacing it; at the top of the page when the request names no panel. A 400 is
        # swapped in as any refusal is (core.htmx).
        target = request.headers.get("HX-Target", "")
        retarget(response, f"#{target}" if re.fullmatch(r"[A-Za-z][\w-]{0,80}", target) else "#main")
        return reswap(response, "afterbegin")
    return render(request, "input_refused.html", {"message": message, "field": field}, status=400)


def nul_guard(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Refuse any request whose URL, query string or form holds a NUL, with a 400."""

    def middleware(request: HttpRequest) -> HttpResponse:
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        if NUL in session_key and hasattr(request, "session"):
            # No session can have such a key (and looking it up would fail): none is sent.
            request.session = request.session.__class__(None)
        field = nul_field(request)
        if field is not None:
            return refusal(request, field)
        return get_response(request)

    return middleware
