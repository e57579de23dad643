#!/usr/bin/env bash
# Debian packages Lockstep's storage backends and tests need. Idempotent and quiet when all is there.
#   btrfs-progs: the btrfs driver and the embedded default (btrfs in a loop-mounted image)
#   zfs-fuse:    the zfs driver's tests (a file-backed pool; OpenZFS takes the same commands)
#   postgresql:  the test suite runs every API test on PostgreSQL too (this machine kind ships it)
#   systemd:     systemd-analyze, which checks the shipped unit files (tests/ops/test_install.py)
#   nfs-ganesha, nfs-ganesha-vfs, rpcbind: the NFS server that exports shares (docs/exports.md)
#   libnfs-utils: nfs-ls, nfs-cp, nfs-cat, the userspace NFS client of the export tests (tests/nfs/)
#   ceph-mon, ceph-mgr, ceph-osd, ceph-mds, ceph-common, ceph-fuse: the cephfs driver (ceph, ceph-fuse) and the
#     one-node cluster of scripts/ceph-cluster.sh its tests boot (tests/ceph/); python3-cephfs, python3-rados:
#     the system python's bindings, which the `ceph` command itself uses (Lockstep does not import them)
set -euo pipefail

need=()
command -v mkfs.btrfs >/dev/null 2>&1 || need+=(btrfs-progs)
command -v zfs-fuse >/dev/null 2>&1 || need+=(zfs-fuse)
command -v pg_isready >/dev/null 2>&1 || need+=(postgresql)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
PATH="$PATH:/usr/sbin:/sbin"
command -v ganesha.nfsd >/dev/null 2>&1 || need+=(nfs-ganesha)
compgen -G '/usr/lib/*/ganesha/libfsalvfs.so' >/dev/null || need+=(nfs-ganesha-vfs)
command -v rpcbind >/dev/null 2>&1 || need+=(rpcbind)
command -v nfs-ls >/dev/null 2>&1 || need+=(libnfs-utils)
ceph=()
for tool in ceph-mon ceph-mgr ceph-osd ceph-mds ceph-fuse; do command -v $tool >/dev/null 2>&1 || ceph+=($tool); done
command -v ceph >/dev/null 2>&1 || ceph+=(ceph-common)
[ ${#ceph[@]} -gt 0 ] && ceph+=(python3-cephfs python3-rados)
[ ${#need[@]} -eq 0 ] && [ ${#ceph[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${need[*]} ${ceph[*]}; install them as root (apt-get install ${need[*]} ${ceph[*]})." >&2
  echo "install-system-deps: continuing: the backends that need them fall back or their tests skip." >&2
  exit 0
fi
echo "==> installing Debian packages: ${need[*]} ${ceph[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ ${#need[@]} -gt 0 ] && ! apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
# Ceph without its recommends (dashboards, cephadm, ...): the daemons, the CLI and the FUSE client are all
# the tests and the driver use. Its daemons are not started by the package where systemd does not run.
if [ ${#ceph[@]} -gt 0 ] && ! apt-get install -y -qq --no-install-recommends "${ceph[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${ceph[@]}" >/dev/null
fi
# Lockstep runs its own Ganesha with its own configuration: the package's service (started by apt
# where systemd runs) would hold the NFS port. Only a service this script just installed is stopped.
if [[ " ${need[*]} " == *" nfs-ganesha "* ]] && [ -d /run/systemd/system ]; then
  systemctl disable --now nfs-ganesha.service >/dev/null 2>&1 || true
fi
