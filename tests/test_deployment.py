"""docker-compose.yml cannot be started here (no Docker engine), so it is kept correct by
construction: the same processes and commands as `make run`, checked here."""

from __future__ import annotations

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
