"""Secrets that configuration names by environment variable (integrations, channels, …).

A row in the database (editable by a superuser in the admin, or by a policy file) only
*names* the variable that holds a secret. Without a rule, that name could be
`SECRET_KEY` or `DATABASE_URL`, and the server would send its own secret to whatever URL
the same row points at. So a secret variable must start with `GONOGO_` and must not be
one of the server's own settings. The rule is checked three times: in the model's
validators (the admin shows the error), in the policy schema, and here, where the
secret is read: a row that got a bad name some other way yields no secret, and a log
line says why.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .korean import particles

log = logging.getLogger(__name__)

PREFIX = "GONOGO_"
NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")

# The server's and its tools' own variables. The settings module is also scanned (below),
# so a setting added later is refused without anyone remembering this list.
SERVER_NAMES = frozenset(
    {
        "GONOGO_VAR_DIR",
        "GONOGO_BENCH",
        "GONOGO_REQUIRE_SERVICES",
        "GONOGO_DELIVERY_KEEP_DAYS",
        "GONOGO_POLL_INTERVAL_SECONDS",
        "GONOGO_DEMO_PASSWORD",
        "GONOGO_SECRET_DEFAULTS",
        "GONOGO_WAIVER_DEFAULT_HOURS",
        "GONOGO_WAIVER_MAX_DAYS",
        "GONOGO_BIND",
        "GONOGO_URL",
        "GONOGO_TOKEN",
        "GONOGO_CHROMIUM",
        "GONOGO_SCREENSHOTS",
    }
)
# Whole families that belong to the server (single sign-on, sessions, the database roles'
# GONOGO_DB_APP_PASSWORD / GONOGO_DB_APP_ROLE of docs/running.md).
SERVER_PREFIXES = (
    "GONOGO_OIDC_",
    "GONOGO_SSO_",
    "GONOGO_SESSION_",
    "GONOGO_DB_",
    "GONOGO_LOCKOUT_",
)

_SETTINGS_FILE = Path(__file__).resolve().parent.parent / "gonogo" / "settings.py"
_scanned: frozenset[str] | None = None


def server_names() -> frozenset[str]:
    """Every GONOGO_ name the server itself uses: the list above, the names
    gonogo/settings.py reads or defines, and the GONOGO_ settings loaded. The demo
    integration's secret (`GONOGO_SECRET_DEFAULTS`) is the one exception: it is a secret
    meant for an integration."""
    global _scanned
    if _scanned is None:
        try:
            text = _SETTINGS_FILE.read_text(encoding="utf-8")
        except OSError:
            text = ""
        found = set(re.findall(r"\bGONOGO_[A-Z0-9_]+\b", text))
        found |= {name for name in dir(settings) if name.startswith(PREFIX)}
        found -= set(getattr(settings, "GONOGO_SECRET_DEFAULTS", {}))
        _scanned = frozenset(found | SERVER_NAMES)
    return _scanned


def env_name_problem(name: str) -> str | None:
    """Why `name` may not hold a secret for configuration, or None when it may ('' is
    allowed: no secret)."""
    if not name:
        return None
    if not NAME_RE.match(name) or not name.startswith(PREFIX) or len(name) <= len(PREFIX):
        return str(
            _(
                "“%(name)s” cannot hold a secret here: the variable must start with GONOGO_ "
                "and not be one of the server's own settings."
            )
            % {"name": name[:100]}
        )
    if name in server_names() or name.startswith(SERVER_PREFIXES):
        return particles(
            _(
                "“%(name)s” is one of the server's own settings: a secret variable must start "
                "with GONOGO_ and not be one of the server's own settings."
            )
            % {"name": name[:100]}
        )
    return None


def validate_secret_env_name(value: str) -> None:
    """Field validator: the reason, shown under the field."""
    problem = env_name_problem(value)
    if problem:
        raise ValidationError(problem, code="secret_env_not_allowed")


def secret_env_errors(obj: object, fields: list[str]) -> None:
    """For a model's clean(): refuse every named *_env field that breaks the rule, each
    error under its own field (the admin shows it there)."""
    errors = {}
    for name in fields:
        problem = env_name_problem(getattr(obj, name, "") or "")
        if problem:
            errors[name] = ValidationError(problem, code="secret_env_not_allowed")
    if errors:
        raise ValidationError(errors)


def secret_from_env(name: str, *, owner: str, demo_default: bool = False) -> str:
    """The secret the variable `name` holds, for `owner` (e.g. "integration gh-ios").
    A name the rule refuses yields '' and a warning, so a row stored before the rule (or
    forced into the database) never reads the server's own secrets."""
    if not name:
        return ""
    problem = env_name_problem(name)
    if problem:
        log.warning("%s: secret not read from %s: %s", owner, name[:100], problem)
        return ""
    value = os.environ.get(name, "")
    if not value and demo_default:
        value = getattr(settings, "GONOGO_SECRET_DEFAULTS", {}).get(name, "")
    return value
