#!/usr/bin/env bash
# `make manage ARGS="…"`: manage.py with .venv's Python and the environment `make run`
# gives its own migrate and seed steps (scripts/local-env.sh), for use on your machine.
# DATABASE_URL and REDIS_URL come from your shell, as for `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/local-env.sh
source scripts/local-env.sh
exec .venv/bin/python manage.py "$@"
