#!/usr/bin/env bash
# Debian packages Lockstep's storage backends and tests need. Idempotent and quiet when all is there.
#   btrfs-progs: the btrfs driver and the embedded default (btrfs in a loop-mounted image)
#   zfs-fuse:    the zfs driver's tests (a file-backed pool; OpenZFS takes the same commands)
#   postgresql:  the test suite runs every API test on PostgreSQL too (this machine kind ships it)
#   systemd:     systemd-analyze, which checks the shipped unit files (tests/ops/test_install.py)
set -euo pipefail

need=()
command -v mkfs.btrfs >/dev/null 2>&1 || need+=(btrfs-progs)
command -v zfs-fuse >/dev/null 2>&1 || need+=(zfs-fuse)
command -v pg_isready >/dev/null 2>&1 || need+=(postgresql)
command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps: missing ${need[*]}; install them as root (apt-get install ${need[*]})." >&2
  echo "install-system-deps: continuing: the backends that need them fall back or their tests skip." >&2
  exit 0
fi
echo "==> installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
