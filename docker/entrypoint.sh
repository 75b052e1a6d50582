#!/bin/sh
# Container entrypoint for every Django process (web, worker, gpu-worker): wait until the database accepts
# connections, apply migrations when RUN_MIGRATIONS=1 (the web service only, so that several containers never
# migrate at once), then run the command.
set -eu

python - <<'PY'
import os
import sys
import time

import django

django.setup()

from django.db import connection
from django.db.utils import OperationalError

timeout = float(os.environ.get("DB_WAIT_TIMEOUT", "60"))
deadline = time.monotonic() + timeout
while True:
    try:
        connection.ensure_connection()
    except OperationalError as error:
        if time.monotonic() > deadline:
            sys.exit(f"blindread-entrypoint: database not reachable after {timeout:.0f}s: {error}")
        time.sleep(1)
    else:
        break
PY

if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    python manage.py migrate --noinput
fi

exec "$@"
