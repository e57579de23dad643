#!/usr/bin/env bash
# One-shot: fresh Manila peer -> load generator -> stop peer -> drop database.
#
#   bench/manila_peer/bench_manila.sh [loadgen args...]
#
# Defaults to a small run (show, list-detail, create-delete-group; 1 and 8 clients).
# Any arguments replace the default loadgen arguments (--url/--dialect are always set).
# Results: JSON lines in $OUT (default: $RUN/results-<timestamp>.jsonl), table on stdout.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${LOCKSTEP_BENCH_CACHE:-$HOME/.cache/lockstep-bench}"
VENV="${MANILA_VENV:-$CACHE/manila-venv}"
RUN="${MANILA_RUN_DIR:-$CACHE/manila-run}"
PORT="${MANILA_PORT:-8787}"
OUT="${OUT:-$RUN/results-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
say() { printf '[bench_manila] %s\n' "$*"; }

"$HERE/setup.sh"

if curl -s -m 1 -o /dev/null "http://127.0.0.1:$PORT/"; then
    say "ERROR: something already listens on 127.0.0.1:$PORT" >&2
    exit 1
fi

say "starting run_manila.py (log: $RUN/log/manila.log, stdout: $RUN/log/stdout.log)"
"$VENV/bin/python" -W ignore::DeprecationWarning "$HERE/run_manila.py" --config-file "$RUN/manila.conf" \
    >"$RUN/log/stdout.log" 2>&1 &
echo $! >"$RUN/pid"
trap '"$HERE/teardown.sh"' EXIT

for _ in $(seq 1 240); do
    grep -q "MANILA READY" "$RUN/log/stdout.log" && break
    if grep -q "NOT READY" "$RUN/log/stdout.log" || ! kill -0 "$(cat "$RUN/pid")" 2>/dev/null; then
        say "Manila failed to start:" >&2; tail -20 "$RUN/log/stdout.log" >&2; exit 1
    fi
    sleep 0.5
done
grep "MANILA READY" "$RUN/log/stdout.log" || { say "timed out waiting for Manila" >&2; exit 1; }

MANILA_VERSION="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("manila"))')"
if [[ $# -eq 0 ]]; then
    set -- --workloads show,list-detail,create-delete-group --clients 1,8 --requests 100 --seed-groups 100
fi
say "loadgen $*"
python3 "$HERE/../loadgen.py" --url "http://127.0.0.1:$PORT" --dialect manila \
    --label "manila-$MANILA_VERSION" --out "$OUT" "$@"
say "JSON lines: $OUT"
