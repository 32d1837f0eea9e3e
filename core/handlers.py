"""The project's error handlers: problem+json for the API, pages for people, and the 503
of a database outage (core.outage) whichever it was. An error page answering htmx is not
swapped into the panel that asked (core.htmx)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import csrf, defaults
from django.views.defaults import page_not_found
from django.views.defaults import server_error as html_server_error

from .htmx import not_swapped
from .outage import current_database_failure, database_failure
from .problems import is_api, problem


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api(request):
        return problem(404, "not_found", "No such endpoint. The API is described at /api/v1/openapi.json.")
    return page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    failure = current_database_failure()  # raised in a middleware (the view's: core.outage)
    if failure is not None:
        return database_failure(request, failure)
    if is_api(request):
        return problem(
            500, "server_error", "Something went wrong on our side; it has been logged. Try again."
        )
    return html_server_error(request)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return not_swapped(request, defaults.bad_request(request, exception or Exception()))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return not_swapped(request, defaults.permission_denied(request, exception or Exception()))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Django's page for a failed CSRF check (CSRF_FAILURE_VIEW)."""
    return not_swapped(request, csrf.csrf_failure(request, reason))
