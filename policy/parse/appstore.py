"""`[products.appstore]`: the product's App Store Connect API key (named by its
environment variable) and app, for the phased release the board drives
(docs/app-store.md)."""

from __future__ import annotations

import re
from typing import Any

from ..specs import AppStoreSpec
from .checker import Checker

APPSTORE_KEYS = {"issuer_id": str, "key_id": str, "private_key_env": str, "app_id": str, "active": bool}
REQUIRED = ("issuer_id", "key_id", "private_key_env", "app_id")
LIMITS = {"issuer_id": 64, "key_id": 32, "app_id": 32}


def appstore_check(c: Checker, table: Any, where: str) -> None:
    """Its keys and types, the required ones, and their shapes (the `*_env` name is checked
    with the whole file's, by `secret_envs_check`)."""
    if not isinstance(table, dict):
        c.add(where, "must be a table")
        return
    c.table(table, APPSTORE_KEYS, where)
    for key in REQUIRED:
        if not table.get(key):
            c.add(f"{where}.{key}", "is required")
    for key, limit in LIMITS.items():
        value = table.get(key)
        if isinstance(value, str) and len(value) > limit:
            c.add(f"{where}.{key}", f"is at most {limit} characters")
    app_id = table.get("app_id")
    if isinstance(app_id, str) and app_id and not re.fullmatch(r"[0-9]+", app_id):
        c.add(f"{where}.app_id", "is the app's Apple ID: digits only (App Store Connect → App Information)")


def appstore_spec(table: dict[str, Any]) -> AppStoreSpec:
    return AppStoreSpec(
        issuer_id=table["issuer_id"],
        key_id=table["key_id"],
        private_key_env=table["private_key_env"],
        app_id=table["app_id"],
        active=table.get("active", True),
    )
