"""Settings come from the environment (CONTRACT §1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
