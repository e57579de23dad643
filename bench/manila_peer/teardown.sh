#!/usr/bin/env bash
# Stop a Manila peer started by bench_manila.sh / start (pid file in the run dir) and drop
# the bench database. Safe to run repeatedly. Keeps the virtualenv (reused by setup.sh).
set -euo pipefail
CACHE="${LOCKSTEP_BENCH_CACHE:-$HOME/.cache/lockstep-bench}"
RUN="${MANILA_RUN_DIR:-$CACHE/manila-run}"
DB="${MANILA_DB:-manila_bench}"
PGHOST_="${MANILA_PG_HOST:-127.0.0.1}"; PGPORT_="${MANILA_PG_PORT:-5432}"; PGUSER_="${MANILA_PG_USER:-postgres}"
say() { printf '[manila-peer teardown] %s\n' "$*"; }

if [[ -f "$RUN/pid" ]]; then
    pid="$(cat "$RUN/pid")"
    if kill -0 "$pid" 2>/dev/null && grep -q run_manila.py "/proc/$pid/cmdline" 2>/dev/null; then
        say "stopping run_manila.py (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$pid" 2>/dev/null; then say "still alive after 15s, SIGKILL"; kill -KILL "$pid"; fi
    fi
    rm -f "$RUN/pid" "$RUN/ready"
fi
if pg_isready -h "$PGHOST_" -p "$PGPORT_" -q; then
    say "dropping database $DB"
    PGOPTIONS="-c client_min_messages=warning" psql -h "$PGHOST_" -p "$PGPORT_" -U "$PGUSER_" -qAt -d postgres \
        -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
fi
say "done"
