"""`python manage.py db_grant --role gonogo_app [--create]` (PostgreSQL; docs/running.md).

Run by the role that owns the tables (the one `migrate` runs as), after every migrate.
It gives the role the web and workers connect as exactly what the app needs and no more:

- every table: SELECT, INSERT, UPDATE, DELETE — except the audit trail and the evidence
  tables (decisions, sign-offs, gate results): SELECT and INSERT only; and the migration
  history: SELECT only;
- sequences: USAGE, SELECT;
- never TRUNCATE, REFERENCES or TRIGGER, never ownership: so the app role cannot empty
  the record, and cannot disable or drop the triggers that guard it (only an owner can);
- default privileges, so tables a later migration creates get the same grants.

Running it again changes nothing. With `--create`, a missing role is created (LOGIN, the
password from the variable `--password-env` names, default GONOGO_DB_APP_PASSWORD).
"""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

# Append-only on the database too (audit migration 0003): the app only adds rows here.
APPEND_ONLY_TABLES = ("audit_auditevent", "releases_decision", "releases_signoff", "gates_gateresult")
READ_ONLY_TABLES = ("django_migrations",)


class Command(BaseCommand):
    help = "Grant the app's database role what the web and workers need (not ownership, no TRUNCATE)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--role", default="gonogo_app", help="the role the web and workers connect as")
        parser.add_argument("--create", action="store_true", help="create the role (LOGIN) if it is missing")
        parser.add_argument(
            "--password-env",
            default="GONOGO_DB_APP_PASSWORD",
            help="with --create: the environment variable that holds the new role's password",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("db_grant is for PostgreSQL (SQLite has no roles): nothing to do.")
        role = options["role"]
        q = connection.ops.quote_name
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            owner, database = cur.fetchone()
            if role == owner:
                raise CommandError(
                    f"{role} is the role running this command (the tables' owner): give the app its own role."
                )
            cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
            row = cur.fetchone()
            if row is None:
                if not options["create"]:
                    raise CommandError(f"role {role} does not exist (add --create, or CREATE ROLE it first)")
                password = os.environ.get(options["password_env"], "")
                if not password:
                    raise CommandError(f"--create needs the new role's password in {options['password_env']}")
                cur.execute(f"CREATE ROLE {q(role)} LOGIN PASSWORD %s", [password])
                self.stdout.write(f"created role {role}")
            elif row[0]:
                raise CommandError(
                    f"{role} is a superuser: the app role must not be one (it could bypass everything)"
                )

            cur.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user"
            )
            tables = sorted(r[0] for r in cur.fetchall())
            cur.execute(f"GRANT CONNECT ON DATABASE {q(database)} TO {q(role)}")
            cur.execute(f"GRANT USAGE ON SCHEMA public TO {q(role)}")
            cur.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {q(role)}")
            cur.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {q(role)}")
            for table in APPEND_ONLY_TABLES:
                if table in tables:
                    cur.execute(f"REVOKE UPDATE, DELETE ON {q(table)} FROM {q(role)}")
            for table in READ_ONLY_TABLES:
                if table in tables:
                    cur.execute(f"REVOKE INSERT, UPDATE, DELETE ON {q(table)} FROM {q(role)}")
            cur.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {q(role)}")
            cur.execute(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(owner)} IN SCHEMA public "
                f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q(role)}"
            )
            cur.execute(
                f"ALTER DEFAULT PRIVILEGES FOR ROLE {q(owner)} IN SCHEMA public "
                f"GRANT USAGE, SELECT ON SEQUENCES TO {q(role)}"
            )
        self.stdout.write(
            f"granted {role} on {database}: {len(tables)} tables (append-only: "
            f"{', '.join(t for t in APPEND_ONLY_TABLES if t in tables)}); no TRUNCATE, not an owner"
        )
