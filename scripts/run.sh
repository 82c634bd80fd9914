#!/usr/bin/env bash
# `make run`: migrate, seed the demo, and serve on http://127.0.0.1:5000.
# With REDIS_URL answering, an RQ worker runs beside the server; otherwise jobs run in-process.
set -euo pipefail
cd "$(dirname "$0")/.."
export FLASK_APP=wsgi
flask=.venv/bin/flask

$flask db upgrade
$flask chom demo
$flask chom reconcile || echo "reconcile: some sites need attention (see above)"   # unfinished operations, drift

worker_pid=""
if [ -n "${REDIS_URL:-}" ] && .venv/bin/python -c "
import os, redis, sys
try:
    redis.Redis.from_url(os.environ['REDIS_URL'], socket_connect_timeout=1).ping()
except Exception:
    sys.exit(1)"; then
  echo "Redis answers at $REDIS_URL: starting an RQ worker"
  $flask chom worker &
  worker_pid=$!
  trap '[ -n "$worker_pid" ] && kill "$worker_pid" 2>/dev/null' EXIT
else
  echo "No Redis at REDIS_URL: jobs run in a thread of the server"
fi
echo "CHOM on http://127.0.0.1:5000 (console) and http://127.0.0.1:5000/api/v1"
# One process with threads, so in-process jobs share it (the embedded default).
.venv/bin/gunicorn --bind 127.0.0.1:5000 --workers 1 --threads 8 --worker-class gthread wsgi:app
