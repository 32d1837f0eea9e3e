#!/usr/bin/env bash
# `make run`: migrate, load the demo data, then start web + Celery worker + poller + beat together.
# With nothing set: SQLite and kombu's filesystem broker (no server needed).
# With DATABASE_URL / REDIS_URL set: PostgreSQL and Redis, same processes.
set -euo pipefail
cd "$(dirname "$0")/.."
# DEBUG on unless set, GONOGO_BIND, GONOGO_BASE_URL: the same as `make manage` (scripts/manage.sh).
# shellcheck source=scripts/local-env.sh
source scripts/local-env.sh
PY=.venv/bin/python

if [ -n "${MIGRATE_DATABASE_URL:-}" ]; then
  # Migrate as the role that owns the tables; the processes below run as DATABASE_URL's
  # role, which db_grant gives only what the app needs (docs/running.md "Database roles").
  DATABASE_URL="$MIGRATE_DATABASE_URL" $PY manage.py migrate --no-input -v 0
  DATABASE_URL="$MIGRATE_DATABASE_URL" $PY manage.py db_grant --role "${GONOGO_DB_APP_ROLE:-gonogo_app}" --create
else
  $PY manage.py migrate --no-input -v 0
fi
$PY manage.py seed_demo | tail -n 1
url="http://${GONOGO_BIND}/"
cat <<MSG

  Go/No-Go is starting on ${url}
  database: ${DATABASE_URL:-SQLite (db.sqlite3)}   broker: ${REDIS_URL:-filesystem (var/broker)}

  Demo logins (password: ${DEMO_PASSWORD:-demo}):
    pm       PM/PO — makes the Go/No-Go call
    qa       QA
    mobile   Mobile Lead
    backend  Backend Lead
    devops   DevOps
    admin    administrator (settings at ${url}admin/)

  Open ${url}releases/ios-app/2.4.0/ to see a release with its blockers.
  Stop with Ctrl-C.

MSG
exec .venv/bin/honcho start -f Procfile
