# The environment `make run` (scripts/run.sh) and `make manage` (scripts/manage.sh) share:
# DEBUG on unless set (so SECRET_KEY may be left unset), the address to listen on, and the
# address alerts link to and the demo's monitoring sources point at. Sourced, not run.
export DEBUG="${DEBUG:-1}"
export GONOGO_BIND="${GONOGO_BIND:-${HOST:-127.0.0.1}:${PORT:-8000}}"
export GONOGO_BASE_URL="${GONOGO_BASE_URL:-http://${GONOGO_BIND}}"
