"""Small checks shared by services and the policy loader."""

from __future__ import annotations

import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from .errors import RuleViolation

_http_url = URLValidator(schemes=["http", "https"])


def http_url(value: str, *, field: str) -> str:
    """'' or an http(s) URL: links shown on the board never carry another scheme."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        _http_url(value)
    except ValidationError as exc:
        raise RuleViolation(
            "url_invalid", _("“%(url)s” is not an http or https link.") % {"url": value[:100]}, field=field
        ) from exc
    return value


# What a CI link may be: http(s), a host, no whitespace. Looser than URLValidator on
# purpose (CI systems link to internal hosts such as http://jenkins:8080/…); the same
# pattern is the API schema's, so the schema and the check never disagree.
CI_LINK_PATTERN = r"^https?://[^\s/?#]+[^\s]*$"
_ci_link = re.compile(CI_LINK_PATTERN)


def ci_link(value: str, *, field: str) -> str:
    """'' or an http(s) link as CI systems send them."""
    if not value:
        return ""
    if not _ci_link.match(value):
        raise RuleViolation(
            "url_invalid", _("“%(url)s” is not an http or https link.") % {"url": value[:100]}, field=field
        )
    return value


def is_http_url(value: str) -> bool:
    try:
        _http_url(value)
    except ValidationError:
        return False
    return True


def is_ci_link(value: str) -> bool:
    return bool(_ci_link.match(value))


# PostgreSQL text cannot hold NUL (U+0000): a value carrying one is refused at the edge
# (forms, query strings, the JSON API) or, where the sender cannot be asked again (signed
# webhooks, CI polling), removed from what is read out of it.
NUL = "\x00"


def field_label(name: str) -> str:
    """A field's name as a reply can show it: a NUL in the name itself written as \\u0000."""
    return name.replace(NUL, "\\u0000")


def nul_paths(value: Any, *, limit: int = 20) -> list[str]:
    """The JSON paths (`summary`, `items[2].name`) of the first `limit` strings or keys in
    `value` that hold a NUL, in document order; `[]` when there is none. Iterative: any
    depth the JSON parser accepted is walked."""
    found: list[str] = []
    stack: list[tuple[str, Any, bool]] = [("", value, False)]  # (path, value, its key has a NUL)
    while stack and len(found) < limit:
        path, item, key_nul = stack.pop()
        if key_nul:
            found.append(path)
        if isinstance(item, str):
            if NUL in item and not key_nul:
                found.append(path or "(body)")
        elif isinstance(item, dict):
            stack.extend(
                reversed(
                    [
                        (f"{path}.{field_label(key)}" if path else field_label(key), child, NUL in key)
                        for key, child in item.items()
                    ]
                )
            )
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}[{i}]", child, False) for i, child in enumerate(item)]))
    return found[:limit]


def without_nul(value: Any) -> Any:
    """`value` (parsed JSON) with every NUL removed from its strings and keys."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key.replace(NUL, ""): without_nul(item) for key, item in value.items()}
    return value


def may_hold_nul(body: bytes) -> bool:
    """False when the JSON `body` surely holds no NUL: UTF-8 JSON carries one only as the
    escape \\u0000 (UTF-16 and UTF-32 bodies, full of zero bytes, always may)."""
    return b"\\u0000" in body or b"\x00" in body


def json_without_nul(body: bytes) -> Any:
    """`json.loads(body)` with every NUL removed from its strings and keys (for what a
    sender cannot be asked to change: a signed webhook, a CI server's answer). Raises what
    json.loads raises, and RecursionError."""
    data = json.loads(body)
    return without_nul(data) if may_hold_nul(body) else data
