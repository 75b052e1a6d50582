#!/usr/bin/env bash
# Starts the platform on this machine: migrate, demo data, the workers and the web server on 127.0.0.1:8000.
# Without DATABASE_URL / REDIS_URL it uses SQLite and a file-based queue under var/ (no servers needed).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DJANGO_SETTINGS_MODULE=config.settings
ADDRESS=127.0.0.1:8000

step() { printf '\n==> %s\n' "$*"; }

DATABASE="SQLite in var/"; QUEUE="files in var/queue"
[ -n "${DATABASE_URL:-}" ] && DATABASE="PostgreSQL (DATABASE_URL)"
[ -n "${REDIS_URL:-}" ] && QUEUE="Redis (REDIS_URL)"

step "Database: $DATABASE, applying migrations"
"$BIN/python" manage.py migrate --noinput --verbosity 0
"$BIN/python" manage.py collectstatic --noinput --verbosity 0

step "Demo data (the first run builds it, later runs reuse it)"
"$BIN/python" manage.py demo

step "Starting two workers (one for audits, reports and imports; one for long work) and the web server"
"$BIN/python" -m jobs.workers &
WORKERS=$!
# The web server is gunicorn, as in production (static files by WhiteNoise); warnings only.
"$BIN/gunicorn" config.wsgi:application --bind "$ADDRESS" --workers 2 --threads 4 --log-level warning &
WEB=$!
trap 'kill "$WEB" "$WORKERS" 2>/dev/null; wait "$WEB" "$WORKERS" 2>/dev/null' EXIT INT TERM

for _ in $(seq 120); do
  "$BIN/python" - "$ADDRESS" <<'PY' 2>/dev/null && break
import sys, urllib.request
urllib.request.urlopen(f"http://{sys.argv[1]}/login/", timeout=2)
PY
  kill -0 "$WEB" 2>/dev/null || { echo "The web server did not start." >&2; exit 1; }
  sleep 0.5
done

LAPTOP_NOTE=""
if [ "$(id -u)" = 0 ]; then
  LAPTOP_NOTE="  Running as root: fine for a demo on this machine, never in production (docs/operations.md).
"
fi
if [ -z "${DATABASE_URL:-}" ]; then
  LAPTOP_NOTE="$LAPTOP_NOTE  Laptop default: SQLite and a file queue. The database's own append-only guards of answers and the
  audit trail are PostgreSQL triggers: set DATABASE_URL and REDIS_URL to run as in production."
fi
cat <<MSG

  Blindread is running at http://$ADDRESS/
  Reader:      http://$ADDRESS/          user: reader       password: reader-demo
  Researcher:  http://$ADDRESS/reports/  user: researcher   password: researcher-demo
  Admin:       http://$ADDRESS/admin/    user: admin        password: blindread-demo
  Database: $DATABASE   Queue: $QUEUE
$LAPTOP_NOTE
  The machine observers run on the worker for a few minutes; the reports say "computing" until they are done.
  Stop with Ctrl-C.

MSG
wait "$WEB"
