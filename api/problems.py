"""Errors as `application/problem+json` (RFC 9457), for every API and webhook reply."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from gonogo.errors import DomainError

PROBLEM_TYPE = "/api/v1/problems/{code}"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JsonResponse:
    """A problem document: `type` names the problem (its last segment is the stable code,
    also given as `code`), `title` the HTTP status, `detail` what to fix."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE.format(code=code),
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **(extra or {}),
    }
    if errors:
        body["errors"] = errors
    response = JsonResponse(body, status=status, content_type="application/problem+json")
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def problem_from(error: DomainError) -> JsonResponse:
    """The problem for a service's refusal; a field at fault is named in `errors`."""
    extra = dict(error.extra)
    errors = extra.pop("errors", None)
    if errors is None and error.field:
        errors = [{"field": error.field, "message": error.message}]
    members = {
        k: v for k, v in extra.items() if isinstance(v, str | int | float | bool) and k not in _RESERVED
    }
    return problem(error.status, error.code, error.message, errors=errors, extra=members)


_RESERVED = frozenset({"type", "title", "status", "detail", "code", "errors"})


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/healthz", "/readyz"))


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    from django.views.defaults import page_not_found

    if is_api(request):
        return problem(404, "not_found", "No such endpoint. The API is described at /api/v1/openapi.json.")
    return page_not_found(request, exception or Exception())


def server_error(request: HttpRequest) -> HttpResponse:
    from django.views.defaults import server_error as html_server_error

    from gonogo.outage import current_database_failure, database_failure

    failure = current_database_failure()  # raised in a middleware (the view's: gonogo.outage)
    if failure is not None:
        return database_failure(request, failure)
    if is_api(request):
        return problem(
            500, "server_error", "Something went wrong on our side; it has been logged. Try again."
        )
    return html_server_error(request)
