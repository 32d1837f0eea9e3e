"""Small checks shared by services and the policy loader."""

from __future__ import annotations

import re

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
