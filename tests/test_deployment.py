"""docker-compose.yml cannot be started here (no Docker engine), so it is kept correct by
construction: the same processes and commands as `make run`, checked here."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {name: cmd.split() for name, cmd in (line.split(": ", 1) for line in lines if line.strip())}


def test_compose_runs_the_procfile_processes() -> None:
    services = compose()["services"]
    for name, command in procfile().items():
        assert services[name]["command"] == command, name
    assert services["beat"]["deploy"]["replicas"] == 1


def test_compose_has_postgres_and_a_durable_redis_with_health_checks() -> None:
    services = compose()["services"]
    redis = services["redis"]["command"]
    assert "--appendonly" in redis and redis[redis.index("--appendfsync") + 1] == "everysec"
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"
    for name in ("db", "redis", "web", "worker"):
        assert "healthcheck" in services[name], name
    assert services["web"]["environment"]["DATABASE_URL"].startswith("${DATABASE_URL:-postgres://")
    assert "REDIS_URL" in services["worker"]["environment"]


def test_env_example_names_every_setting_and_no_env_is_committed() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DEBUG",
        "TIME_ZONE",
        "DATABASE_URL",
        "REDIS_URL",
        "DEMO_PASSWORD",
    ):
        assert f"{name}=" in example, name
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_make_run_and_ci_use_the_same_serve_script() -> None:
    assert "honcho start -f Procfile" in (ROOT / "scripts" / "run.sh").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "GONOGO_REQUIRE_SERVICES=1" in ci


def _resolved(environment: dict[str, str]) -> dict[str, str]:
    """Compose's `${NAME:-default}` with nothing set: the default."""
    resolved = {}
    for name, value in environment.items():
        match = re.fullmatch(r"\$\{(\w+):-(.*)\}", str(value))
        resolved[name] = match.group(2) if match else str(value)
    return resolved


def test_compose_web_passes_check_deploy_with_no_warnings(tmp_path: Path) -> None:
    """`manage.py check --deploy` with the environment docker-compose.yml gives web (HSTS,
    HTTPS redirect, secure cookies behind the TLS proxy) and .env.example's values, with a
    real secret key: nothing to warn about."""
    example = dict(
        line.split("=", 1)
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    web = _resolved(compose()["services"]["web"]["environment"])
    assert web["GONOGO_SSL_REDIRECT"] == "1" and int(web["GONOGO_HSTS_SECONDS"]) >= 31536000
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    env = {
        **keep,
        **example,
        **web,
        "SECRET_KEY": secrets.token_urlsafe(50),  # .env's own, in production
        "GONOGO_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "gonogo.settings",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def test_compose_health_check_probes_healthz() -> None:
    """Not a page: behind the HTTPS redirect a page answers 301, and it needs the database."""
    test = " ".join(compose()["services"]["web"]["healthcheck"]["test"])
    assert "http://127.0.0.1:8000/healthz" in test
