#!/usr/bin/env bash
# Starts the platform on this machine: migrate, demo data, a Celery worker and the web server on 127.0.0.1:8000.
# Without DATABASE_URL / REDIS_URL it uses SQLite and a file-based queue under var/ (no servers needed).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DJANGO_SETTINGS_MODULE=config.settings

"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput --verbosity 0
"$BIN/python" manage.py demo

"$BIN/celery" -A config worker -Q default,gpu --pool solo --loglevel warning &
WORKER=$!
trap 'kill "$WORKER" 2>/dev/null; wait "$WORKER" 2>/dev/null' EXIT INT TERM

cat <<MSG

  Blindread is running at http://127.0.0.1:8000/
  Admin:  http://127.0.0.1:8000/admin/   user: admin   password: blindread-demo
  Database: ${DATABASE_URL:-SQLite in var/}   Queue: ${REDIS_URL:-files in var/queue} (worker pid $WORKER)
  Stop with Ctrl-C.

MSG
"$BIN/python" manage.py runserver 127.0.0.1:8000 --noreload
