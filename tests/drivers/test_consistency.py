"""The proof that a cgsnapshot is one point-in-time cut across shares (or, for posix, that it is not).

A writer thread loops: increment the counter in share A, fsync, increment the counter in share B,
fsync. At every instant the counters satisfy A == B or A == B + 1. The main thread takes cuts
(create_cgsnapshot over [A, B]), restores each into a new group (create_group_from_cgsnapshot)
and reads both counters back. A cut is *torn* when the restored pair is in no state the writer
ever had: B > A (B's write is in the cut, A's earlier write is not) or A > B + 1.

- btrfs and zfs cut atomically: 0 torn cuts allowed;
- posix copies A then B: while it copies, the writer keeps going, so B's copy is newer than A's.
  The test asserts that this IS detected (at least one torn cut), proving the check has teeth.
  Each share holds some padding files so that a member copy takes a few milliseconds.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from lockstep.service.storage import (
    CGSnapshotMemberSpec,
    CGSnapshotSpec,
    CloneSpec,
    CutMethod,
    GroupSpec,
    ShareSpec,
)

from .conftest import Backend, new_id

CUTS = 50
PADDING_FILES = 100
PADDING_BYTES = 4096
COUNTER = "counter"
WIDTH = 20


def _encode(value: int) -> bytes:
    return f"{value:0{WIDTH - 1}d}\n".encode()


class Writer(threading.Thread):
    """Increments A then B, fsyncing each write, until stopped."""

    def __init__(self, path_a: Path, path_b: Path) -> None:
        super().__init__(name="counter-writer", daemon=True)
        self.fd_a = os.open(path_a / COUNTER, os.O_RDWR)
        self.fd_b = os.open(path_b / COUNTER, os.O_RDWR)
        self.stop = threading.Event()
        self.value = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.value += 1
                data = _encode(self.value)
                # Overwrite in place: one small write within one block, then fsync; the file never
                # has another length or a partly written value from the reader's point of view.
                os.pwrite(self.fd_a, data, 0)
                os.fsync(self.fd_a)
                os.pwrite(self.fd_b, data, 0)
                os.fsync(self.fd_b)
        except BaseException as exc:  # surfaced by the test
            self.error = exc
        finally:
            os.close(self.fd_a)
            os.close(self.fd_b)


def _read_counter(path: Path) -> int:
    return int((path / COUNTER).read_text(encoding="ascii").strip() or "0")


@pytest.mark.parametrize("backend", ["posix", "btrfs", "zfs", "cephfs"], indirect=True)
def test_cgsnapshot_cuts_are_consistent(backend: Backend, record_property: Callable[[str, object], None]) -> None:
    driver = backend.driver
    group = GroupSpec(new_id("g-"), backend.pool)
    driver.create_group(group)
    shares = [ShareSpec(new_id(f"sh{n}-"), 1, "NFS", backend.pool, group.id) for n in ("A", "B")]
    paths = []
    for spec in shares:
        path = Path(driver.create_share(spec).export_locations[0].path)
        pad = path / "padding"
        pad.mkdir()
        for i in range(PADDING_FILES):
            (pad / f"{i:04d}").write_bytes(os.urandom(PADDING_BYTES))
        (path / COUNTER).write_bytes(_encode(0))
        paths.append(path)

    writer = Writer(paths[0], paths[1])
    writer.start()
    torn: list[tuple[int, int]] = []
    states = {"a==b": 0, "a==b+1": 0}
    seen: set[int] = set()
    cut_ms: list[float] = []
    restore_ms: list[float] = []
    cleanup_ms: list[float] = []
    spreads: list[float] = []
    try:
        time.sleep(0.05)
        for _ in range(CUTS):
            assert writer.is_alive(), f"the writer stopped: {writer.error!r}"
            cg = CGSnapshotSpec(
                id=new_id("cg-"),
                group=group,
                members=[CGSnapshotMemberSpec(new_id("m-"), s) for s in shares],  # cut A first, then B
            )
            t0 = time.perf_counter()
            result = driver.create_cgsnapshot(cg)
            t1 = time.perf_counter()
            target = GroupSpec(new_id("g-"), backend.pool)
            clones = [CloneSpec(ShareSpec(new_id("cl-"), 1, "NFS", backend.pool, target.id), m) for m in cg.members]
            restored = driver.create_group_from_cgsnapshot(target, cg, clones)
            t2 = time.perf_counter()
            cut_ms.append((t1 - t0) * 1000)
            restore_ms.append((t2 - t1) * 1000)
            spreads.append(result.spread_ms)
            assert result.method == (CutMethod.ATOMIC if backend.atomic else CutMethod.SEQUENTIAL)

            a = _read_counter(Path(restored[clones[0].share.id].export_locations[0].path))
            b = _read_counter(Path(restored[clones[1].share.id].export_locations[0].path))
            seen.add(a)
            if a == b:
                states["a==b"] += 1
            elif a == b + 1:
                states["a==b+1"] += 1
            else:
                torn.append((a, b))

            t3 = time.perf_counter()
            for clone in clones:
                driver.delete_share(clone.share)
            driver.delete_group(target)
            driver.delete_cgsnapshot(cg)
            cleanup_ms.append((time.perf_counter() - t3) * 1000)
    finally:
        writer.stop.set()
        writer.join(timeout=30)
        for spec in shares:
            driver.delete_share(spec)
        driver.delete_group(group)

    assert writer.error is None, f"the writer failed: {writer.error!r}"
    final = writer.value
    record_property("driver_measurement",
        f"consistency[{backend.name}]: {CUTS} cuts, torn={len(torn)} "
        f"(consistent a==b: {states['a==b']}, a==b+1: {states['a==b+1']}), writer iterations={final}, "
        f"distinct A values seen={len(seen)}; cut ms median {statistics.median(cut_ms):.1f} "
        f"max {max(cut_ms):.1f}; restore ms median {statistics.median(restore_ms):.1f} "
        f"max {max(restore_ms):.1f}; cleanup ms median {statistics.median(cleanup_ms):.1f}; "
        f"reported spread_ms median {statistics.median(spreads):.1f}"
        + (f"; torn examples (a, b): {torn[:5]}" if torn else "")
    )
    # The writer really wrote during the run, and the cuts saw different moments.
    assert final > CUTS
    assert len(seen) > CUTS // 2
    if backend.atomic:
        assert torn == [], f"{backend.name} produced torn cuts: {torn[:10]}"
    else:
        assert torn, "the sequential posix cut never tore: the test cannot tell a torn cut from a good one"
        assert all(b > a for a, b in torn), "a sequential cut of A then B can only tear with B ahead of A"
