#!/usr/bin/env bash
# Benchmarks, one command: `make bench`. Everything runs on this machine in one go, on
# PostgreSQL and Redis, under the production server (gunicorn + uvicorn workers, DEBUG off),
# and each result is reported against a baseline measured in the same run.
# `bench/run.sh webhooks` runs only the webhook bench (bench/webhooks.py), appending its
# section to bench/results/latest.md; `bench/run.sh sampling` the health tick's
# (bench/sampling.py); `bench/run.sh history` the cost against a release's history
# (bench/history.py); `bench/run.sh board` only the board, re-fetch and tick figures (the
# first three sections, two minutes); `bench/run.sh ingest` only the results ingest. The results ingest with 50 open streams (bench/ingest.py) and a
# panel's re-fetch while results land (bench/changer.py) run in the full bench only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
out=bench/results
mkdir -p "$out"

pg_isready -h 127.0.0.1 -q || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no

export DEBUG=0 SECRET_KEY=bench-only-secret-key GONOGO_BENCH=1 ALLOWED_HOSTS=127.0.0.1
export DATABASE_URL=postgres://postgres@127.0.0.1:5432/gonogo_bench REDIS_URL=redis://127.0.0.1:6379/14
export GONOGO_VAR_DIR="$PWD/var/bench" GONOGO_BIND=127.0.0.1:8765 WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
base=http://127.0.0.1:8765

if [ "${1:-}" = webhooks ]; then  # creates and migrates gonogo_bench when missing; starts its own server
  exec $PY bench/webhooks.py
fi
if [ "${1:-}" = sampling ]; then  # the same database; no server needed (a fake Prometheus of its own)
  exec $PY bench/sampling.py
fi
if [ "${1:-}" = history ]; then  # the same database; no server needed
  exec $PY bench/history.py
fi
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }

psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS gonogo_bench" -c "CREATE DATABASE gonogo_bench"
$PY manage.py migrate --no-input -v 0
$PY manage.py seed_demo >/dev/null
scripts/serve web > "$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do curl -sf -o /dev/null "$base/bench/empty/" && break; sleep 0.2; done

cookie=$($PY bench/session.py pm)
if [ "${1:-}" = ingest ]; then  # only the results ingest with 50 open streams
  $PY bench/ingest.py "$base" "$cookie"
  exit 0
fi
board="$base/releases/ios-app/2.4.0/"
# 200, not a redirect to the login page: a bench of the login redirect measures nothing.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: sessionid=$cookie" "$board")
[ "$code" = 200 ] || { echo "board answered $code, not 200 (is the bench session signed in?)" >&2; exit 1; }

rps() {  # rps URL → requests per second (wrk, 10 s, 2 threads, 16 connections)
  wrk -t2 -c16 -d10s -H "Cookie: sessionid=$cookie" "$1" | awk '/Requests\/sec/ {print $2}'
}
# Each figure's baseline is the empty view measured for 5 s just before it and 5 s just
# after it (their mean): this machine's speed drifts by a third within a minute, and a
# single baseline at the start would put that drift into every ratio.
empty5() { wrk -t2 -c16 -d5s -H "Cookie: sessionid=$cookie" "$base/bench/empty/" | awk '/Requests\/sec/ {print $2}'; }
mean() { $PY -c "print(f'{($1 + $2) / 2:.2f}')"; }
ratio_of() { $PY -c "print(f'{$1 / $2:.3f}')"; }
wrk -t2 -c16 -d3s "$base/bench/empty/" >/dev/null  # warm up
e1=$(empty5); boardrps=$(rps "$board"); e2=$(empty5)
empty=$(mean "$e1" "$e2")
ratio=$(ratio_of "$boardrps" "$empty")

# A panel's re-fetch (htmx GET of the gates panel, as a board's live refresh sends it)
# while a CI result lands on the release every BENCH_CHANGE_EVERY seconds (bench/changer.py):
# each change makes the cached panel stale, so the first re-fetch after it renders and the
# others get that render. At a change every 1 s (a busy board) and every 0.25 s (the most
# a board repaints: GONOGO_LIVE_COALESCE_SECONDS).
refetch() {  # refetch SECONDS-BETWEEN-CHANGES → requests per second
  BENCH_CHANGE_EVERY=$1 $PY bench/changer.py 11 >/dev/null &
  local changer=$!
  sleep 0.5
  wrk -t2 -c16 -d10s -H "Cookie: sessionid=$cookie" -H "HX-Request: true" -H "HX-Target: gates" "$board" \
    | awk '/Requests\/sec/ {print $2}'
  wait $changer
}
e1=$(empty5); panel1=$(refetch 1); e2=$(empty5); empty1=$(mean "$e1" "$e2")
e1=$(empty5); panel4=$(refetch 0.25); e2=$(empty5); empty4=$(mean "$e1" "$e2")
panelratio1=$(ratio_of "$panel1" "$empty1")
panelratio4=$(ratio_of "$panel4" "$empty4")

# A checklist tick (htmx POST, as the page sends it) on the 300-item checklist of a release
# of its own, against the same empty view: the tick's server time, as a ratio.
item=$($PY bench/checklist.py)  # prints "<product>/<version>/<item id>"
qa=$($PY bench/session.py qa)
csrf=benchcsrftoken0123456789abcdefgh  # 32 characters: Django accepts it as cookie and header
export TICK_COOKIE="sessionid=$qa; csrftoken=$csrf" TICK_CSRF=$csrf TICK_TARGET="item-${item##*/}" TICK_REFERER="$base/"
tickurl="$base/releases/${item%/*}/checklist/items/${item##*/}/tick/"
answer=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -X POST -H "Cookie: $TICK_COOKIE" -H "X-CSRFToken: $csrf" -d state=passed "$tickurl")
case "$answer" in
  *"/accounts/login/"*|4*|5*) echo "tick answered $answer (is the bench session signed in?)" >&2; exit 1 ;;
esac
e1=$(empty5)
tickrps=$(wrk -t2 -c16 -d10s -s bench/tick.lua "$tickurl" | awk '/Requests\/sec/ {print $2}')
e2=$(empty5); emptytick=$(mean "$e1" "$e2")
tickratio=$(ratio_of "$tickrps" "$emptytick")
tickms=$($PY -c "print(f'{1000 * 16 / $tickrps:.1f}')")

{
  echo "# Go/No-Go benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, web workers: $WEB_CONCURRENCY"
  echo
  echo "## Board throughput (gunicorn + uvicorn workers, PostgreSQL, DEBUG off)"
  echo "empty view:  $empty req/s (5 s before and 5 s after the board; each figure below has its own)"
  echo "board page:  $boardrps req/s"
  echo "ratio board/empty: $ratio (target ≥ 0.25; its panels served from the panel cache)"
  echo
  echo "## A panel's re-fetch while CI results land (htmx GET of the gates panel, same server)"
  echo "a change every 1 s:    $panel1 req/s, ratio to the empty view ($empty1 req/s around it) $panelratio1 (target ≥ 0.5)"
  echo "a change every 0.25 s: $panel4 req/s, ratio to the empty view ($empty4 req/s around it) $panelratio4"
  echo
  echo "## Checklist tick (htmx POST on a 300-item checklist, same server)"
  echo "tick:        $tickrps ticks/s ($tickms ms per tick at 16 connections)"
  echo "ratio tick/empty: $tickratio, the empty view $emptytick req/s around it (target ≥ 0.15)"
  echo
  [ "${1:-}" = board ] && exit 0
  $PY bench/ingest.py "$base" "$cookie"  # results POSTed at 300/s (or what this machine takes) with 50 streams open
  echo
  echo "## Live updates: recorded change → 50 open SSE streams (Redis pub/sub)"
  $PY bench/sse_latency.py "$base" "$cookie"
  echo
  echo "## Live updates: recorded change → repainted panel in Chromium"
  $PY bench/browser_latency.py "$base"
  echo
  $PY bench/webhooks.py --no-append  # its own server on a free port, then a worker
  echo
  $PY bench/sampling.py --no-append  # one health tick for 5 and 50 products, a fake Prometheus
  echo
  $PY bench/history.py --no-append  # the board and the result writer at a history of 3 and 6,000
} | tee "$out/latest.md"
