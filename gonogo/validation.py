"""Small checks shared by services and the policy loader."""

from __future__ import annotations

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


def is_http_url(value: str) -> bool:
    try:
        _http_url(value)
    except ValidationError:
        return False
    return True
