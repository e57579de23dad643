#!/usr/bin/env python3
"""CephFS figures for docs/performance.md: cluster boot, a cgsnapshot of N shares through the driver next to
the raw `.snap` mkdir it is made of, a restore (a copy: O(data)), a share's own snapshot and a share
from it (the mgr's clone). Prints; asserts nothing.

    .venv/bin/python bench/cephfs_cuts.py [--sizes 1,4,16] [--repeat 5] [--mib 4]

Boots its own one-node cluster with scripts/ceph-cluster.sh under /var/tmp and tears it down. Needs
root (ceph-fuse) and the Ceph packages (scripts/install-system-deps.sh).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from lockstep.adapters.drivers.cephfs import CephfsDriver
from lockstep.service.storage import (
    CGSnapshotMemberSpec,
    CGSnapshotSpec,
    CloneSpec,
    GroupSpec,
    ShareSpec,
    SnapshotSpec,
)

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ceph-cluster.sh"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _fill(path: Path, mib: int) -> None:
    (path / "big.bin").write_bytes(os.urandom(mib * 1024 * 1024))
    small = path / "small"
    small.mkdir()
    for i in range(50):
        (small / f"{i:03d}").write_bytes(os.urandom(4096))


def _timed(call: object) -> float:
    started = time.perf_counter()
    call()  # type: ignore[operator]
    return time.perf_counter() - started


def bench(driver: CephfsDriver, sizes: list[int], repeat: int, mib: int) -> None:
    for n in sizes:
        group = GroupSpec(f"g-{uuid.uuid4()}", "cephfs")
        driver.create_group(group)
        shares = [ShareSpec(f"sh-{uuid.uuid4()}", 1, "CEPHFS", "cephfs", group.id) for _ in range(n)]
        for share in shares:
            _fill(Path(driver.create_share(share).export_locations[0].path), mib)
        group_dir = driver.mountpoint / "volumes" / f"{driver.prefix}-{group.id}"
        cut_s, raw_s = [], []
        for _ in range(repeat):
            cg = CGSnapshotSpec(f"cg-{uuid.uuid4()}", group, [CGSnapshotMemberSpec(f"m-{uuid.uuid4()}", s)
                                                              for s in shares])
            cut_s.append(_timed(lambda cg=cg: driver.create_cgsnapshot(cg)))
            driver.delete_cgsnapshot(cg)
            name = group_dir / ".snap" / f"raw-{uuid.uuid4().hex[:8]}"
            raw_s.append(_timed(lambda name=name: os.mkdir(name)))
            os.rmdir(name)
        cg = CGSnapshotSpec(f"cg-{uuid.uuid4()}", group, [CGSnapshotMemberSpec(f"m-{uuid.uuid4()}", s) for s in shares])
        driver.create_cgsnapshot(cg)
        target = GroupSpec(f"g-{uuid.uuid4()}", "cephfs")
        clones = [CloneSpec(ShareSpec(f"cl-{uuid.uuid4()}", 1, "CEPHFS", "cephfs", target.id), m) for m in cg.members]
        started = time.perf_counter()
        driver.create_group_from_cgsnapshot(target, cg, clones)
        restore = time.perf_counter() - started
        print(f"cephfs N={n:3d} shares ({mib} MiB + 50 x 4 KiB each): cgsnapshot via driver median "
              f"{_ms(statistics.median(cut_s))} (max {_ms(max(cut_s))}); raw .snap mkdir median "
              f"{_ms(statistics.median(raw_s))} (max {_ms(max(raw_s))}); restore of the group (copy) "
              f"{restore:.2f} s", flush=True)
        for clone in clones:
            driver.delete_share(clone.share)
        driver.delete_group(target)
        driver.delete_cgsnapshot(cg)
        if n == sizes[0]:
            snap = SnapshotSpec(f"sn-{uuid.uuid4()}", shares[0])
            copy = ShareSpec(f"sh-{uuid.uuid4()}", 1, "CEPHFS", "cephfs")
            started = time.perf_counter()
            driver.create_snapshot(snap)
            took = time.perf_counter() - started
            driver.create_share_from_snapshot(copy, snap)
            clone_s = time.perf_counter() - started - took
            print(f"cephfs share snapshot (mgr) {_ms(took)}; share from it (a copy of {mib} MiB) {clone_s:.2f} s",
                  flush=True)
            driver.delete_share(copy)
            driver.delete_snapshot(snap)
        for share in shares:
            driver.delete_share(share)
        driver.delete_group(group)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,4,16")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--mib", type=int, default=4)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="lockstep-cephbench-", dir="/var/tmp"))
    started = time.monotonic()
    # A sparse OSD big enough to restore the largest group (each share is 1 GiB of quota; capacity checks count it).
    env = {**os.environ, "CEPH_OSD_BYTES": str(64 * 1024**3)}
    subprocess.run(["bash", str(SCRIPT), "up", str(directory)], check=True, capture_output=True, env=env)
    print(f"cephfs cluster boot (scripts/ceph-cluster.sh up): {time.monotonic() - started:.1f} s", flush=True)
    driver = CephfsDriver({"conf": str(directory / "ceph.conf"), "path": str(directory / "lockstep")})
    try:
        driver.setup()
        bench(driver, [int(n) for n in args.sizes.split(",")], args.repeat, args.mib)
    finally:
        driver.close()
        started = time.monotonic()
        subprocess.run(["bash", str(SCRIPT), "down", str(directory)], check=False)
        print(f"cephfs cluster teardown (scripts/ceph-cluster.sh down): {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
