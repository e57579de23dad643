#!/usr/bin/env bash
# `make cluster` / `make cluster-stop`: Lockstep as it runs beyond one machine, on this one machine.
#
#   scripts/cluster.sh up      PostgreSQL (database lockstep_cluster), a one-node Ceph with a CephFS
#                              volume, two share hosts (alpha, beta) each with its own btrfs pool and
#                              both serving the CephFS backend, and two API processes; prints the URL
#   scripts/cluster.sh status  what runs, and the pools the API sees
#   scripts/cluster.sh down    stops all of it and removes what it made: processes, mounts, loop
#                              devices, the Ceph daemons, the directory and the database
#
# Everything lives under LOCKSTEP_CLUSTER_DIR (default /var/tmp/lockstep-cluster); logs are there too.
# Needs root (loop devices, mount, ceph-fuse). Tests and a real deployment use the same commands as
# this script: see docs/architecture.md, "Many hosts and fencing".
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
D=${LOCKSTEP_CLUSTER_DIR:-/var/tmp/lockstep-cluster}
PY=${PY:-$ROOT/.venv/bin/python}
DB=${LOCKSTEP_CLUSTER_DB:-lockstep_cluster}
PORT=${LOCKSTEP_CLUSTER_PORT:-8790}
PG=postgresql://postgres@127.0.0.1:5432
URL=http://127.0.0.1:$PORT
HOSTS=(alpha beta)

say() { echo "cluster: $*"; }
die() { echo "cluster: $*" >&2; exit 1; }
lockstep() { "$PY" -m lockstep.cli "$@"; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

ensure_postgres() {
  pg_isready -q -h 127.0.0.1 -p 5432 && return 0
  say "starting PostgreSQL"
  local v
  v=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
  [ -n "$v" ] || die "PostgreSQL is not installed; run scripts/install-system-deps.sh"
  pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
  for _ in $(seq 1 100); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 0.1; done
  die "PostgreSQL does not answer on 127.0.0.1:5432; start it (pg_ctlcluster $v main start) and retry"
}

psql_() { PGOPTIONS="-c client_min_messages=warning" psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d postgres "$@"; }

wait_for() {  # wait_for SECONDS WHAT COMMAND...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
  [ -n "$what" ] && say "$what" || true
}

pools_ready() {  # the API lists a pool of each host and the shared CephFS pool
  local body
  body=$(curl -sf -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Manila-API-Version: 2.30" \
    "$URL/v2/admin/scheduler-stats/pools") || return 1
  for want in "alpha@local#" "beta@local#" "ceph@ceph#"; do
    grep -q "\"$want" <<<"$body" || return 1
  done
}

up() {
  [ "$(id -u)" = 0 ] || die "needs root (loop devices for the btrfs pools, ceph-fuse for CephFS)"
  [ -x "$PY" ] || die "no virtualenv at $PY; run make install"
  if alive "$D/api.pid"; then
    die "already running at $URL (pid $(cat "$D/api.pid")); make cluster-stop first"
  fi
  [ -e "$D" ] && { say "removing what a previous cluster left in $D"; down quiet; }
  mkdir -p "$D"
  ensure_postgres
  psql_ -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
  say "database $PG/$DB"

  say "starting a one-node Ceph (about 15 s)"
  bash "$ROOT/scripts/ceph-cluster.sh" up "$D/ceph" >"$D/ceph.log" 2>&1 \
    || die "Ceph did not start; see $D/ceph.log"

  cat >"$D/host.toml" <<EOF
# One share host of the demo cluster: its own btrfs pool, and the CephFS backend every host serves.
backends = ["local", "ceph"]
nfs = "off"

[backend.local]
driver = "auto"
image_size_gb = 4

[backend.ceph]
driver = "cephfs"
backend_host = "ceph"
conf = "$D/ceph/ceph.conf"
EOF
  export LOCKSTEP_DATABASE_URL=$PG/$DB LOCKSTEP_REPORT_INTERVAL=2 LOCKSTEP_SERVICE_DOWN_TIME=10
  mkdir -p "$D/api"
  LOCKSTEP_DATA_DIR=$D/api lockstep db upgrade >"$D/migrate.log" 2>&1 || die "migration failed; see $D/migrate.log"

  for host in "${HOSTS[@]}"; do
    mkdir -p "$D/$host"
    LOCKSTEP_DATA_DIR=$D/$host setsid "$PY" -m lockstep.cli --config "$D/host.toml" worker --host "$host" \
      >"$D/$host.log" 2>&1 </dev/null &
    echo $! >"$D/$host.pid"
  done
  # CEPHFS shares go to the CephFS pool (it reports storage_protocol CEPHFS and takes no NFS share).
  LOCKSTEP_DATA_DIR=$D/api LOCKSTEP_WORKER=false LOCKSTEP_LISTEN=127.0.0.1:$PORT \
    LOCKSTEP_ENABLED_SHARE_PROTOCOLS=NFS,CIFS,CEPHFS \
    setsid "$PY" -m lockstep.cli serve --processes 2 >"$D/api.log" 2>&1 </dev/null &
  echo $! >"$D/api.pid"

  wait_for 60 "API serving on $URL (2 processes)" curl -sf "$URL/healthcheck" \
    || die "the API did not answer within 60 s; see $D/api.log"
  wait_for 90 "pools: alpha@local, beta@local, ceph@ceph (CephFS, served by both hosts)" pools_ready \
    || die "the hosts did not report their pools within 90 s; see $D/alpha.log and $D/beta.log"
  # Share types that pick a backend (the default type lets the scheduler choose among all three pools).
  local type
  for type in local:local cephfs:ceph; do
    curl -sf -o /dev/null -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Manila-API-Version: 2.30" \
      -H "Content-Type: application/json" -X POST "$URL/v2/admin/types" -d "{\"share_type\": {\"name\": \"${type%%:*}\",
      \"extra_specs\": {\"driver_handles_share_servers\": false, \"snapshot_support\": true,
      \"create_share_from_snapshot_support\": true, \"share_backend_name\": \"${type#*:}\"}}}" \
      || die "could not create the share type ${type%%:*}; see $D/api.log"
    curl -sf -o /dev/null -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Manila-API-Version: 2.55" \
      -H "Content-Type: application/json" -X POST "$URL/v2/admin/share-group-types" \
      -d "{\"share_group_type\": {\"name\": \"${type%%:*}\", \"share_types\": [\"${type%%:*}\"]}}" \
      || die "could not create the share group type ${type%%:*}; see $D/api.log"
  done
  cat <<EOF

Lockstep cluster is up: $URL  (noauth: X-Auth-Token admin:<project>)
  database   $PG/$DB
  hosts      alpha, beta (logs $D/alpha.log, $D/beta.log)
  Ceph       $D/ceph/ceph.conf (ceph -c $D/ceph/ceph.conf status)
  types      share types and share group types local (btrfs on alpha or beta) and cephfs (CephFS,
             run by either host; shares with "share_proto": "CEPHFS" and cephx access rules); an NFS
             share of the default type lands on alpha's or beta's pool, a CEPHFS one on CephFS
  stop       make cluster-stop
EOF
}

stop_pid() {  # stop_pid PIDFILE: SIGTERM, up to 30 s, then SIGKILL
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "pid $pid did not stop within 30 s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

down() {
  local quiet=${1:-}
  [ -d "$D" ] || { [ -n "$quiet" ] || say "nothing to stop ($D does not exist)"; return 0; }
  stop_pid "$D/api.pid"
  for host in "${HOSTS[@]}"; do stop_pid "$D/$host.pid"; done
  # Anything a process killed by hand left: its processes (by their data directory), then its mounts.
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = $$ ] && continue
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "LOCKSTEP_DATA_DIR=$D/.*"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  if [ -d "$D/ceph" ]; then
    bash "$ROOT/scripts/ceph-cluster.sh" down "$D/ceph" >>"$D/ceph.log" 2>&1 || say "Ceph teardown: see $D/ceph.log"
  fi
  awk -v d="$D/" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r | while read -r mp; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
  done
  losetup -n -O NAME,BACK-FILE 2>/dev/null | awk -v d="$D/" 'index($2, d) == 1 {print $1}' | while read -r dev; do
    losetup -d "$dev" 2>/dev/null || true
  done
  if pg_isready -q -h 127.0.0.1 -p 5432; then
    psql_ -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  fi
  rm -rf "$D"
  [ -n "$quiet" ] || say "stopped; nothing left under $D"
}

status() {
  [ -d "$D" ] || { say "not running"; return 1; }
  local f
  for f in "$D"/*.pid; do
    [ -e "$f" ] || continue
    if alive "$f"; then say "$(basename "$f" .pid): running (pid $(cat "$f"))"; else say "$(basename "$f" .pid): NOT running"; fi
  done
  bash "$ROOT/scripts/ceph-cluster.sh" status "$D/ceph" >/dev/null 2>&1 && say "ceph: up" || say "ceph: NOT up"
  curl -sf -H "X-Auth-Token: admin:admin" -H "X-OpenStack-Manila-API-Version: 2.30" \
    "$URL/v2/admin/scheduler-stats/pools" || say "API: not answering at $URL"
  echo
}

case ${1:-} in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
