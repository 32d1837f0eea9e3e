"""Bearer tokens for the API, and the decorators every API view wears."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from core.errors import DomainError
from core.problems import method_refused, problem, problem_from
from core.validation import may_hold_nul, nul_paths, without_nul
from integrations.models import ApiToken
from integrations.tokens import token_authenticate

View = Callable[..., HttpResponse]


class ApiRequest(HttpRequest):
    api_token: ApiToken


def api_view(methods: tuple[str, ...], scope: str | None = None) -> Callable[[View], View]:
    """CSRF-exempt (no cookies: tokens or provider signatures), methods enforced with a
    problem reply, a bearer token with `scope` when given, and any refusal a service
    raises turned into problem+json."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                return method_refused(methods)
            if scope is not None:
                header = request.headers.get("Authorization", "")
                kind, _space, raw = header.partition(" ")
                if kind.lower() != "bearer" or not raw.strip():
                    return problem(
                        401,
                        "token_missing",
                        "Send the token as `Authorization: Bearer <token>` (see issue_token).",
                        headers={"WWW-Authenticate": 'Bearer realm="gonogo"'},
                    )
                token = token_authenticate(raw.strip())
                if token is None:
                    return problem(
                        401,
                        "token_invalid",
                        "This token is unknown or revoked. Ask an admin for a new one.",
                        headers={"WWW-Authenticate": 'Bearer realm="gonogo", error="invalid_token"'},
                    )
                if scope not in token.scopes:
                    return problem(
                        403,
                        "scope_missing",
                        f"This token may not do this; it needs the “{scope}” scope.",
                        headers={
                            "WWW-Authenticate": f'Bearer realm="gonogo", error="insufficient_scope", scope="{scope}"'
                        },
                    )
                request.api_token = token  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                return problem_from(error)
            except BodyError as error:
                return error.response

        return csrf_exempt(wrapper)

    return decorator


class BodyError(Exception):
    def __init__(self, response: HttpResponse) -> None:
        self.response = response


def raw_body(request: HttpRequest) -> bytes:
    """The body, refused with 413 past the limit even when no length was announced."""
    body = request.body
    if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        raise BodyError(problem(413, "body_too_large", "The request body is over 1 MiB; send less."))
    return body


def json_object(body: bytes, *, nul: Literal["refuse", "remove"] = "refuse") -> dict[str, Any]:
    """The body as a JSON object, or a 400 problem saying what is wrong with it. A NUL
    (\\u0000) in any string or key is refused with a 400 naming each field by its JSON path
    (`summary`, `items[2].name`): PostgreSQL text cannot hold one. `nul="remove"` (signed
    webhooks, which the sender will not change) removes them instead."""
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise BodyError(problem(400, "invalid_json", "The body must be a JSON object."))
        if may_hold_nul(body):  # most bodies skip the walk
            if nul == "remove":
                data = without_nul(data)
            elif fields := nul_paths(data):
                raise BodyError(
                    problem(
                        400,
                        "nul_character",
                        "Text may not contain the NUL character (\\u0000); remove it from "
                        + ", ".join(fields)
                        + ".",
                        errors=[
                            {"field": field, "message": "Contains a NUL character (\\u0000)."}
                            for field in fields
                        ],
                    )
                )
    except (
        ValueError,
        RecursionError,
    ) as exc:  # JSONDecodeError, UnicodeDecodeError, 4300+ digit ints, deep nesting
        raise BodyError(problem(400, "invalid_json", f"The body is not valid JSON: {exc}.")) from exc
    return data
