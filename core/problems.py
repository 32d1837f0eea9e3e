"""Errors as `application/problem+json` (RFC 9457), for every API and webhook reply."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.errors import DomainError

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


View = Callable[..., HttpResponse]


def method_refused(methods: tuple[str, ...]) -> JsonResponse:
    return problem(
        405,
        "method_not_allowed",
        f"Use {' or '.join(methods)} here.",
        headers={"Allow": ", ".join(methods)},
    )


def problem_view(methods: tuple[str, ...]) -> Callable[[View], View]:
    """CSRF-exempt (no cookies: tokens, provider signatures or nothing), methods enforced
    with a problem reply, and any refusal a service raises turned into problem+json."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return method_refused(methods)
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                return problem_from(error)

        return csrf_exempt(wrapper)

    return decorator
