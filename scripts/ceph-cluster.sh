#!/usr/bin/env bash
# A throw-away one-node Ceph (mon, mgr, one bluestore OSD on a sparse file, MDS, a CephFS volume
# named `cephfs`) living entirely under DIR: its own fsid, its own ports on 127.0.0.1, no systemd.
#
#   scripts/ceph-cluster.sh up DIR       boot it (about 15 s); prints the ceph.conf path
#   scripts/ceph-cluster.sh status DIR   `ceph status` of it, exit 1 when it is not up
#   scripts/ceph-cluster.sh down DIR     kill every daemon, unmount every ceph-fuse under DIR, remove DIR
#
# It installs nothing (scripts/install-system-deps.sh does). DIR must be on a filesystem that takes
# O_DIRECT (ext4, xfs; not tmpfs): the OSD's block device is the sparse file DIR/osd/0.block.
# A test, a demo or `make cluster` use it; a real deployment points the cephfs backend at its own cluster.
set -euo pipefail

usage() { echo "usage: $0 up|down|status DIR" >&2; exit 2; }
[ $# -eq 2 ] || usage
cmd=$1
mkdir -p "$2" 2>/dev/null || true
[ -d "$2" ] || { echo "ceph-cluster: $2 is not a directory" >&2; exit 2; }
DIR=$(cd "$2" && pwd)
CONF=$DIR/ceph.conf
OSD_BYTES=${CEPH_OSD_BYTES:-10737418240}   # 10 GiB sparse: the OSD's size, not what it takes on disk
PATH="$PATH:/usr/sbin:/sbin"

die() { echo "ceph-cluster: $*" >&2; exit 1; }
ceph_() { timeout 60 ceph -c "$CONF" "$@"; }

free_port() {
  python3 - <<'EOF'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
EOF
}

# Every daemon writes its pid file under DIR/run; `down` kills exactly those pids.
stop_daemons() {
  local pids=() f pid
  for f in "$DIR"/run/*.pid; do
    [ -e "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && pids+=("$pid")
  done
  [ ${#pids[@]} -eq 0 ] && return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 1 100); do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ ${#alive[@]} -eq 0 ] && return 0
    sleep 0.1
  done
  kill -KILL "${alive[@]}" 2>/dev/null || true
}

unmount_all() {
  # Every ceph-fuse mount point under DIR (test clients, drivers), deepest first.
  local mp
  awk -v d="$DIR/" '$2 ~ "^"d {print $2}' /proc/mounts | sort -r | while read -r mp; do
    fusermount3 -u -z "$mp" 2>/dev/null || fusermount -u -z "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
  done
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || die "$what did not happen within ${limit}s; see $DIR/log"
    sleep 0.2
  done
}

mds_active() { ceph_ mds stat 2>/dev/null | grep -q 'up:active'; }
osd_up() { ceph_ osd stat 2>/dev/null | grep -q '1 up'; }
mgr_available() { ceph_ mgr stat 2>/dev/null | grep -q '"available": true'; }

up() {
  trap 'echo "ceph-cluster: booting failed at line $LINENO; logs in $DIR/log; run: $0 down $DIR" >&2' ERR
  for tool in ceph-mon ceph-mgr ceph-osd ceph-mds ceph ceph-authtool monmaptool; do
    command -v $tool >/dev/null || die "$tool is missing; install the Ceph packages with scripts/install-system-deps.sh"
  done
  if [ -f "$CONF" ] && status >/dev/null 2>&1; then echo "$CONF"; return 0; fi
  [ -z "$(ls -A "$DIR")" ] || die "$DIR is not empty and holds no running cluster; run '$0 down $DIR' first"
  mkdir -p "$DIR"/{mon/a,mgr/x,osd/0,mds/a,run,log}
  local fsid v1 v2
  fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  v2=$(free_port); v1=$(free_port)
  cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]
public addr = 127.0.0.1
keyring = $DIR/keyring
run dir = $DIR/run
log file = $DIR/log/\$name.log
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
auth allow insecure global id reclaim = false
mgr initial modules =
[mon]
mon data = $DIR/mon/\$id
keyring = $DIR/mon/keyring
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
[mgr]
mgr data = $DIR/mgr/\$id
keyring = $DIR/mgr/\$id/keyring
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
[osd]
osd data = $DIR/osd/\$id
keyring = $DIR/osd/\$id/keyring
osd objectstore = bluestore
bluestore block path = $DIR/osd/\$id.block
bluestore block create = true
bluestore block size = $OSD_BYTES
osd memory target = 939524096
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
[mds]
mds data = $DIR/mds/\$id
keyring = $DIR/mds/\$id/keyring
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
[client]
log file = $DIR/log/client.log
EOF
  local started=$SECONDS
  ceph-authtool --create-keyring "$DIR/mon/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$DIR/mon/keyring" --import-keyring "$DIR/keyring" >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$v2,v1:127.0.0.1:$v1]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/mon/keyring"
  ceph-mon -c "$CONF" -i a 2>>"$DIR/log/daemons.err"
  wait_for 30 "the monitor answering" ceph_ mon stat

  ceph_ auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$DIR/mgr/x/keyring"
  # In the foreground, detached by us: a daemonized ceph-mgr has no stderr, and mgr/volumes writes to it
  # (`fs subvolume authorize` then fails with EBADF).
  setsid ceph-mgr -c "$CONF" -i x -f </dev/null >>"$DIR/log/mgr.x.out" 2>&1 &
  echo $! >"$DIR/run/mgr.x.pid"

  local osd_uuid secret
  osd_uuid=$(python3 -c 'import uuid; print(uuid.uuid4())')
  secret=$(ceph-authtool --gen-print-key)
  echo "{\"cephx_secret\": \"$secret\"}" | ceph_ osd new "$osd_uuid" -i - >/dev/null
  ceph-authtool --create-keyring "$DIR/osd/0/keyring" --name osd.0 --add-key "$secret" >/dev/null
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" 2>>"$DIR/log/osd-mkfs.log"
  ceph-osd -c "$CONF" -i 0 2>>"$DIR/log/daemons.err"

  ceph_ auth get-or-create mds.a mon 'allow profile mds' osd 'allow rwx' mds 'allow' mgr 'allow profile mds' \
    -o "$DIR/mds/a/keyring"
  ceph-mds -c "$CONF" -i a >/dev/null 2>>"$DIR/log/daemons.err"

  wait_for 60 "the OSD coming up" osd_up
  ceph_ osd pool create cephfs.meta 16 >/dev/null 2>&1
  ceph_ osd pool create cephfs.data 32 >/dev/null 2>&1
  ceph_ fs new cephfs cephfs.meta cephfs.data >/dev/null 2>&1
  wait_for 60 "the MDS becoming active" mds_active
  wait_for 60 "the manager becoming available" mgr_available
  echo "ceph-cluster: up in $((SECONDS - started))s; conf $CONF" >&2
  echo "$CONF"
}

status() {
  [ -f "$CONF" ] || { echo "no cluster under $DIR"; return 1; }
  ceph_ status --connect-timeout 5 || return 1
  mds_active || { echo "ceph-cluster: the MDS is not active" >&2; return 1; }
}

stop_clients() {
  # ceph-fuse clients of this cluster that outlived their mount: one still closing its session
  # would hang for good once the MDS is gone. Only processes naming this cluster's conf are touched.
  local pids
  for _ in $(seq 1 50); do
    pids=$(pgrep -f -- "ceph-fuse -c $CONF " || true)
    [ -z "$pids" ] && return 0
    sleep 0.1
  done
  kill -KILL $pids 2>/dev/null || true
}

down() {
  case "$DIR" in /|/root|/home|/usr|/var|/tmp|/var/tmp) die "refusing to remove $DIR";; esac
  unmount_all
  stop_clients
  stop_daemons
  unmount_all
  # Only a directory this script made (it has a ceph.conf) is removed; anything else is left alone.
  if [ -f "$CONF" ] || [ -z "$(ls -A "$DIR" 2>/dev/null)" ]; then rm -rf "$DIR"; fi
}

case "$cmd" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) usage ;;
esac
