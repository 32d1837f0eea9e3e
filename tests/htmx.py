"""What htmx does with a response: the `responseHandling` of templates/base.html (as the
page's meta tag configures it), read the way htmx 2 reads it."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from django.conf import settings

BASE = Path(settings.BASE_DIR) / "templates" / "base.html"


@cache
def htmx_config() -> dict[str, Any]:
    """The page's htmx configuration (the `htmx-config` meta tag of base.html)."""
    found = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", BASE.read_text(encoding="utf-8"))
    assert found, "base.html has no htmx-config meta tag"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def swaps(response: Any) -> bool:
    """Whether htmx swaps `response` in (and does not report it as an error): the first
    rule whose code matches the status decides; an HX-Reswap of `none` swaps nothing."""
    for rule in htmx_config()["responseHandling"]:
        if re.search(rule["code"], str(response.status_code)):
            swapped = bool(rule["swap"]) and not rule.get("error", False)
            return swapped and not response.get("HX-Reswap", "").startswith("none")
    return False


def same_but_tokens(page: str) -> str:
    """A page without what differs per request: the CSP nonce and the CSRF tokens."""
    for pattern in (r'nonce="[^"]*"', r'name="csrfmiddlewaretoken" value="[^"]*"', r'"X-CSRFToken": "[^"]*"'):
        page = re.sub(pattern, "", page)
    return page
