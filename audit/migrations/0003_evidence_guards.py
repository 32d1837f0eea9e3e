"""The record can't be emptied (PostgreSQL): the audit trail and the evidence tables —
decisions, sign-offs, gate results — are append-only, TRUNCATE included.

No service updates or deletes a decision, a sign-off or a gate result: a sign-off or a
decision goes stale by comparison with the current evidence, never by an UPDATE, and a
gate's status is its newest result. So each table refuses UPDATE, DELETE and TRUNCATE.

The one way through is maintenance by the tables' owner: a session that sets
`gonogo.maintenance = 'on'` *and* whose role owns the table (or is a member of the
owner's role). The test suite does so to flush the database between transactional tests
(tests/conftest.py); a deliberate repair would too. The web and workers connect as a
role that does not own the tables (`manage.py db_grant`, docs/running.md), so for them
the setting changes nothing — and neither can they disable or drop these triggers.
"""

from django.db import migrations

EVIDENCE_TABLES = {
    "audit_auditevent": "audit events",
    "releases_decision": "decisions",
    "releases_signoff": "sign-offs",
    "gates_gateresult": "gate results",
}

FUNCTIONS = """
CREATE OR REPLACE FUNCTION gonogo_maintenance_allowed(tbl oid) RETURNS boolean AS $$
    SELECT coalesce(current_setting('gonogo.maintenance', true), '') = 'on'
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = tbl), 'MEMBER')
$$ LANGUAGE sql STABLE;

CREATE OR REPLACE FUNCTION gonogo_append_only() RETURNS trigger AS $$
BEGIN
    IF gonogo_maintenance_allowed(TG_RELID) THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% are append-only: % refused on %', TG_ARGV[0], TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

-- The audit table's own trigger (0002) now also honours owner maintenance.
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    IF gonogo_maintenance_allowed(TG_RELID) THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: % refused on audit_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

TABLE_TRIGGERS = """
DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};
CREATE TRIGGER {table}_no_truncate
    BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION gonogo_append_only('{label}');
"""

ROW_TRIGGERS = """
DROP TRIGGER IF EXISTS {table}_append_only ON {table};
CREATE TRIGGER {table}_append_only
    BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION gonogo_append_only('{label}');
"""

RESTORE_AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused on audit_auditevent', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTIONS, params=None)
    for table, label in EVIDENCE_TABLES.items():
        schema_editor.execute(TABLE_TRIGGERS.format(table=table, label=label), params=None)
        if table != "audit_auditevent":  # it has its row trigger since 0002
            schema_editor.execute(ROW_TRIGGERS.format(table=table, label=label), params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in EVIDENCE_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}", params=None)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}", params=None)
    schema_editor.execute(RESTORE_AUDIT_FUNCTION, params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS gonogo_append_only()", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS gonogo_maintenance_allowed(oid)", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_append_only_trigger"),
        ("releases", "0004_backfill_rollout_percent"),
        ("gates", "0004_waiver_per_build_and_observation_identity"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
