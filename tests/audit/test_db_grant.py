"""The web and workers can run as a role that does not own the tables (issue 11,
finding 5): `db_grant` gives it what the app needs; it cannot empty the record, nor
disable or drop the triggers that guard it."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import textwrap
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from audit.models import AuditEvent
from gates.models import GateResult

from ..gates.factories import GateFactory
from ..releases.factories import ReleaseFactory

ROOT = Path(__file__).resolve().parents[2]

# Run in a separate process connected as the app role: the app's own service for a
# normal write, then every way to empty or unguard the record, each in its own
# transaction, reporting "ok" or the database's refusal.
APP_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import django
    django.setup()
    from django.db import connection, transaction
    from gates.models import Gate
    from gates.services import gate_result_record
    from releases.models import Release

    release = Release.objects.get(pk=int(sys.argv[1]))
    gate = Gate.objects.get(pk=int(sys.argv[2]))
    out = {}
    result = gate_result_record(release=release, gate=gate, status="failed", run_id="as-app-role")
    out["record"] = getattr(result, "result", result).pk

    def attempt(name, sql):
        try:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)
            out[name] = "ok"
        except Exception as exc:
            out[name] = type(exc).__name__ + ": " + str(exc).splitlines()[0]

    attempt("update_release", "UPDATE releases_release SET branch = 'release/as-app' WHERE id = %d" % release.pk)
    for table in ("audit_auditevent", "gates_gateresult", "releases_signoff", "releases_decision"):
        attempt("truncate " + table, "TRUNCATE " + table + " CASCADE")
        attempt("delete " + table, "DELETE FROM " + table)
    attempt("update gates_gateresult", "UPDATE gates_gateresult SET status = 'passed'")
    attempt("update audit_auditevent", "UPDATE audit_auditevent SET actor_label = 'x'")
    attempt("maintenance delete", "SET LOCAL gonogo.maintenance = 'on'; DELETE FROM gates_gateresult")
    attempt("disable trigger", "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL")
    attempt("drop trigger", "DROP TRIGGER audit_event_append_only ON audit_auditevent")
    attempt("drop evidence trigger", "DROP TRIGGER gates_gateresult_append_only ON gates_gateresult")
    attempt("drop function", "DROP FUNCTION gonogo_append_only() CASCADE")
    print(json.dumps(out))
    """
)


@pytest.fixture
def app_role(postgres_tx: None) -> Any:
    role = f"gonogo_test_app_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    yield role, password
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone():
            cur.execute(f"DROP OWNED BY {q(role)}")
            cur.execute(f"DROP ROLE {q(role)}")


def test_the_app_role_writes_but_cannot_empty_or_unguard_the_record(
    app_role: tuple[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    role, password = app_role
    release: Any = ReleaseFactory()
    gate: Any = GateFactory()
    monkeypatch.setenv("GONOGO_DB_APP_PASSWORD", password)
    out = StringIO()
    call_command("db_grant", "--role", role, "--create", stdout=out)
    assert f"created role {role}" in out.getvalue() and "no TRUNCATE" in out.getvalue()
    call_command("db_grant", "--role", role, stdout=StringIO())  # again: changes nothing, no error

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{role}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "gonogo.settings",
        "SECRET_KEY": "test",
        "DB_POOL": "0",
        "GONOGO_VAR_DIR": str(tmp_path),
        "REDIS_URL": "",
    }
    proc = subprocess.run(
        [sys.executable, "-c", APP_SCRIPT, str(release.pk), str(gate.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])

    # Normal writes work: a gate result through the service, its audit event, a release.
    result = GateResult.objects.get(pk=seen["record"])
    assert result.run_id == "as-app-role"
    assert AuditEvent.objects.filter(object_type="gates.gateresult", object_id=str(result.pk)).exists()
    assert seen["update_release"] == "ok"

    refused = {k: v for k, v in seen.items() if k not in ("record", "update_release")}
    assert refused and all(v != "ok" for v in refused.values()), refused
    for table in ("audit_auditevent", "gates_gateresult", "releases_signoff", "releases_decision"):
        assert "permission denied" in seen[f"truncate {table}"] or "append-only" in seen[f"truncate {table}"]
        assert "permission denied" in seen[f"delete {table}"], seen[f"delete {table}"]
    assert "must be owner" in seen["disable trigger"] and "must be owner" in seen["drop trigger"]
    assert "must be owner" in seen["drop evidence trigger"] and "must be owner" in seen["drop function"]
    assert GateResult.objects.filter(pk=result.pk).exists()


def test_db_grant_refuses_the_owner_itself(postgres: None) -> None:
    from django.core.management import CommandError

    with connection.cursor() as cur:
        cur.execute("SELECT current_user")
        owner = cur.fetchone()[0]
    with pytest.raises(CommandError, match="owner"):
        call_command("db_grant", "--role", owner, stdout=StringIO())


def test_compose_migrates_as_the_owner_and_runs_the_app_as_gonogo_app() -> None:
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    migrate = services["migrate"]
    assert "postgres://gonogo:" in migrate["environment"]["DATABASE_URL"]
    assert "db_grant --role gonogo_app --create" in " ".join(migrate["command"])
    for name in ("web", "worker", "poller", "beat"):
        environment = services[name].get("environment") or {}
        url = (
            environment.get("DATABASE_URL")
            or yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-app"]["environment"][
                "DATABASE_URL"
            ]
        )
        assert "postgres://gonogo_app:" in url, name
    assert "DATABASE_URL=postgres://gonogo_app:" in (ROOT / ".env.example").read_text()
