"""`[[flags]]` (CONTRACT §6): a product's feature flags and their provider (docs/flags.md).

Checked here, not by `shapes_check`: a flag is named by its product and key together (the
same key may be a flag of two products), so the generic "named once in the file" rule
does not fit. Its `*_env` names are checked by `secret_envs_check` like every other.
"""

from __future__ import annotations

import re
from typing import Any

from core.validation import is_http_url
from flags.models import FlagProvider

from ..specs import FlagSpec
from .checker import Checker, Known

SECTION = "flags"
KEYS: dict[str, Any] = {
    "product": str,
    "key": str,
    "name": str,
    "provider": str,
    "url": str,
    "project": str,
    "environment": str,
    "token_env": str,
    "secret_env": str,
    "active": bool,
}
REQUIRED = ("product", "key", "provider", "url")
# Unleash's flag names: letters, digits, dots, underscores, hyphens (URL-friendly).
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]{0,99}$")


def flags_parse(c: Checker, data: Any, known: Known) -> tuple[FlagSpec, ...]:
    """Check each flag (keys and types, product known, provider and what it needs, the
    key unique per product). Returns the specs, or nothing once the file has a problem."""
    entries = c.array(data, SECTION)
    seen: set[tuple[str, str]] = set()
    for i, flag in enumerate(entries):
        where = f"{SECTION}[{i}]"
        c.table(flag, KEYS, where)
        if not isinstance(flag, dict):
            continue
        for req in REQUIRED:
            if req not in flag:
                c.add(f"{where}.{req}", "is required")
        product, key, provider = flag.get("product"), flag.get("key"), flag.get("provider")
        if isinstance(product, str) and product not in known.products:
            c.add(f"{where}.product", f"unknown product “{product}”")
        if isinstance(key, str):
            if not KEY_RE.match(key):
                c.add(
                    f"{where}.key",
                    "use letters, digits, dots, underscores and hyphens only, e.g. “search-v2”",
                )
            if (str(product), key) in seen:
                c.add(f"{where}.key", f"“{key}” appears twice for product “{product}” in this file")
            seen.add((str(product), key))
        if isinstance(provider, str):
            c.choice(provider, FlagProvider.values, f"{where}.provider")
        if isinstance(flag.get("url"), str) and not is_http_url(flag["url"]):
            c.add(f"{where}.url", "must be an http or https link")
        if provider == FlagProvider.UNLEASH and not flag.get("token_env"):
            c.add(
                f"{where}.token_env",
                "is required for Unleash: the environment variable that holds an admin or service API token",
            )
        if provider == FlagProvider.WEBHOOK and not flag.get("secret_env"):
            c.add(
                f"{where}.secret_env",
                "is required for a webhook: the environment variable that holds its Standard Webhooks secret "
                "(whsec_…)",
            )
    if c.problems:
        return ()
    return tuple(FlagSpec(**flag) for flag in entries)
