"""Settings come from the environment (CONTRACT §1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_check(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "REDIS_URL", "TIME_ZONE"}
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(settings.DEBUG, settings.ALLOWED_HOSTS, settings.TIME_ZONE, settings.USE_TZ, "
            "settings.DATABASES['default']['ENGINE'], settings.CELERY_BROKER_URL)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "gonogo.settings"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_secret_key_required_when_debug_is_off() -> None:
    result = run_check()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_off_by_default_and_nothing_allowed_unless_configured() -> None:
    result = run_check(SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("False [] UTC True django.db.backends.sqlite3 filesystem://")


def test_environment_is_read() -> None:
    result = run_check(
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="gonogo.example.com, localhost",
        TIME_ZONE="Asia/Seoul",
        DATABASE_URL="postgres://u:p@db:5432/gonogo",
        REDIS_URL="redis://cache:6379/0",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["False", "['gonogo.example.com',", "'localhost']"]
    assert "Asia/Seoul True django.db.backends.postgresql redis://cache:6379/0" in result.stdout


def show(expression: str, **env: str) -> str:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import django; django.setup(); from django.conf import settings; print({expression})",
        ],
        cwd=ROOT,
        env={**keep, **env, "DJANGO_SETTINGS_MODULE": "gonogo.settings"},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


def test_demo_secret_is_a_default_only_with_debug() -> None:
    expression = "settings.GONOGO_SECRET_DEFAULTS['GONOGO_DEMO_GITHUB_SECRET']"
    assert show(expression, DEBUG="1") == "demo-secret"
    assert show(expression, DEBUG="0", SECRET_KEY="x" * 50) == ""


def test_database_timeouts_are_short_and_configurable() -> None:
    expression = (
        "settings.DATABASES['default']['OPTIONS']['connect_timeout'], "
        "settings.DATABASES['default']['OPTIONS']['pool']['timeout'], "
        "settings.DATABASES['default']['OPTIONS']['pool']['reconnect_timeout']"
    )
    url = "postgres://u:p@db:5432/gonogo"
    assert show(expression, SECRET_KEY="x" * 50, DATABASE_URL=url) == "3 2.0 10.0"
    configured = show(
        expression,
        SECRET_KEY="x" * 50,
        DATABASE_URL=url,
        GONOGO_DB_CONNECT_TIMEOUT="5",
        GONOGO_DB_POOL_TIMEOUT="1.5",
        GONOGO_DB_RECONNECT_TIMEOUT="30",
    )
    assert configured == "5 1.5 30.0"


def test_https_settings_come_from_the_environment() -> None:
    expression = (
        "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
        "settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, settings.SECURE_HSTS_PRELOAD, settings.SECURE_REDIRECT_EXEMPT"
    )
    assert show(expression, SECRET_KEY="x" * 50) == "False 0 False False ['^healthz$', '^readyz$']"
    on = show(
        expression,
        SECRET_KEY="x" * 50,
        GONOGO_SSL_REDIRECT="1",
        GONOGO_HSTS_SECONDS="31536000",
        GONOGO_HSTS_INCLUDE_SUBDOMAINS="1",
        GONOGO_HSTS_PRELOAD="1",
    )
    assert on == "True 31536000 True True ['^healthz$', '^readyz$']"


def test_the_probes_are_not_redirected_to_https(client: Any, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301
    assert client.get("/healthz").status_code == 200


def test_single_sign_on_needs_the_issuer() -> None:
    """Without an issuer every ID token's `iss` could not be checked (a multi-tenant key set
    would let any tenant in): endpoints alone do not turn single sign-on on."""
    endpoints = {
        "GONOGO_OIDC_CLIENT_ID": "gonogo",
        "GONOGO_OIDC_AUTHORIZATION_ENDPOINT": "https://login.example/authorize",
        "GONOGO_OIDC_TOKEN_ENDPOINT": "https://login.example/token",
        "GONOGO_OIDC_JWKS_ENDPOINT": "https://login.example/keys",
    }
    assert show("settings.GONOGO_OIDC_ENABLED", DEBUG="1", **endpoints) == "False"
    issuer = {**endpoints, "GONOGO_OIDC_ISSUER": "https://login.example"}
    assert show("settings.GONOGO_OIDC_ENABLED", DEBUG="1", **issuer) == "True"
