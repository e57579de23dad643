"""Sections 3 and 5: cgsnapshot / restore cost on real backends, writer stalls, raw backend snapshot time."""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lsbench.common import Api, LockstepServer, log, running, summary_ms

GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class Case:
    name: str
    shares: int
    total_bytes: int
    files: int
    stall: bool = False  # also measure a writer's fsync stalls while cgsnapshots are taken


def cases_for(kind: str, quick: bool) -> tuple[list[Case], list[str]]:
    """The cases for a backend, and notes about what was left out."""
    small = [Case(f"{n} share{'s' if n > 1 else ''}, 1 MiB each", n, n * MIB, 8 * n) for n in (1, 8, 64)]
    empty = Case("8 shares, empty", 8, 0, 0)
    one = Case("8 shares, 1 GiB, 10,000 files", 8, GIB, 10_000, stall=True)
    eight = Case("8 shares, 8 GiB, 10,000 files", 8, 8 * GIB, 10_000)
    notes = []
    if quick:
        if kind == "btrfs":
            return [*small, empty, one], ["quick mode: 8 GiB case skipped"]
        stall_small = Case(small[1].name, 8, 8 * MIB, 64, stall=True)
        if kind == "zfs":
            return [small[0], stall_small, empty], ["quick mode: 64-share, 1 GiB and 8 GiB cases skipped"]
        return [small[0], stall_small, small[2], empty], ["quick mode: 1 GiB and 8 GiB cases skipped (full copies)"]
    if kind == "posix":
        notes.append("8 GiB case skipped: posix copies every byte for each cgsnapshot and restore "
                     "(ext4 has no reflinks), ~8 GiB of writes per operation")
        return [*small, empty, one], notes
    return [*small, empty, one, eight], notes


# ------------------------------------------------------------------------------- backends


@contextlib.contextmanager
def backend(kind: str, workdir: Path, size_bytes: int) -> Iterator[dict[str, Any]]:
    """A fresh backend; always torn down (unmount + detach, destroy pool, remove directory)."""
    workdir.mkdir(parents=True, exist_ok=True)
    if kind == "btrfs":
        from lockstep.adapters.drivers import loopfs

        mnt, img = workdir / "btrfs-mnt", workdir / "btrfs.img"
        loopfs.ensure_btrfs_image(img, mnt, size_bytes)
        log(f"  btrfs: {size_bytes / GIB:.0f} GiB sparse image {img} on {loopfs.mount_source(mnt)} at {mnt}")
        try:
            yield {"config": f'[backend.default]\ndriver = "btrfs"\npath = "{mnt}"\n', "root": mnt}
        finally:
            with contextlib.suppress(Exception):
                loopfs.release(mnt)
            if loopfs.mount_source(mnt) is None:
                img.unlink(missing_ok=True)
            log(f"  btrfs: released {mnt}")
    elif kind == "zfs":
        from lockstep.adapters.drivers import zfspool

        started = zfspool.ensure_zfs_daemon()
        pool, img, mnt = f"lsbench{uuid.uuid4().hex[:6]}", workdir / "zfs.img", workdir / "zfs-mnt"
        try:
            zfspool.create_file_pool(pool, img, size_bytes, str(mnt))
            log(f"  zfs: pool {pool} on {img} ({size_bytes / GIB:.0f} GiB sparse), daemon "
                f"{'started by the bench' if started else 'already running'}")
            try:
                dataset = f"{pool}/lockstep"
                yield {"config": f'[backend.default]\ndriver = "zfs"\ndataset = "{dataset}"\n', "dataset": dataset}
            finally:
                zfspool.destroy_file_pool(pool, img)
                log(f"  zfs: destroyed pool {pool}")
        finally:
            if started:
                zfspool.stop_zfs_daemon(started)
    else:
        # A plain directory on ext4 (no reflinks: every cgsnapshot is a full copy), in a sparse loop image
        # so that the scheduler's capacity check never binds; the root filesystem could be used as well.
        img, mnt = workdir / "ext4.img", workdir / "posix-mnt"
        mnt.mkdir(parents=True, exist_ok=True)
        with open(img, "xb") as fh:
            fh.truncate(size_bytes)
        device = subprocess.run(["losetup", "--find", "--show", str(img)], check=True, capture_output=True,
                                text=True).stdout.strip()
        try:
            subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1", device],
                           check=True, capture_output=True, timeout=300)
            subprocess.run(["mount", device, str(mnt)], check=True, capture_output=True, timeout=60)
            log(f"  posix: ext4 in a {size_bytes / GIB:.0f} GiB sparse image on {device} at {mnt}")
            try:
                root = mnt / "posix"
                yield {"config": f'[backend.default]\ndriver = "posix"\npath = "{root}"\n', "root": root}
            finally:
                for _ in range(10):
                    if subprocess.run(["umount", str(mnt)], capture_output=True).returncode == 0:
                        break
                    time.sleep(1)
                log(f"  posix: unmounted {mnt}")
        finally:
            subprocess.run(["losetup", "-d", device], capture_output=True)
            img.unlink(missing_ok=True)


def available(kind: str) -> tuple[bool, str]:
    if kind == "posix":
        return True, "ok"
    if kind == "btrfs":
        from lockstep.adapters.drivers import loopfs

        return loopfs.btrfs_available()
    from lockstep.adapters.drivers import zfspool

    return zfspool.zfs_available()


# ------------------------------------------------------------------------------- data


_BLOCK = os.urandom(2 * MIB)


def write_data(paths: list[str], total_bytes: int, files: int) -> float:
    """Large sequential writes of a repeated random block; returns MB/s."""
    if not files or not total_bytes:
        return 0.0
    started = time.monotonic()
    per_file = total_bytes // files
    view = memoryview(_BLOCK)
    for i in range(files):
        path = os.path.join(paths[i % len(paths)], f"d{i // len(paths) // 1000:03d}")
        os.makedirs(path, exist_ok=True)
        fd = os.open(os.path.join(path, f"f{i:05d}"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            left, off = per_file, (i * 4099) % MIB
            while left:
                chunk = min(left, MIB)
                os.write(fd, view[off : off + chunk])
                left -= chunk
        finally:
            os.close(fd)
    os.sync()
    return total_bytes / 1e6 / (time.monotonic() - started)


class StallWriter:
    """fsync'd 4 KiB appends round-robin over the shares; records (start, seconds) of each."""

    def __init__(self, paths: list[str], max_seconds: float = 300.0, max_writes: int = 1_000_000) -> None:
        self.paths = paths
        self.samples: list[tuple[float, float]] = []
        self.stop = threading.Event()
        self.max_seconds, self.max_writes = max_seconds, max_writes
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        fds = [os.open(os.path.join(p, "stall-writer.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
               for p in self.paths]
        payload = b"x" * 4096
        deadline = time.monotonic() + self.max_seconds
        try:
            i = 0
            while not self.stop.is_set() and i < self.max_writes and time.monotonic() < deadline:
                fd = fds[i % len(fds)]
                t0 = time.monotonic()
                os.write(fd, payload)
                os.fsync(fd)
                self.samples.append((t0, time.monotonic() - t0))
                i += 1
        finally:
            for fd in fds:
                os.close(fd)

    def window(self, start: float, end: float) -> dict[str, Any]:
        lat = [d for t, d in self.samples if start <= t < end]
        s = summary_ms(lat)
        return {"writes": len(lat), "p50_ms": s["p50_ms"], "p99_ms": s["p99_ms"], "max_ms": s["max_ms"]}


# ------------------------------------------------------------------------------- raw operations


def _run(args: list[str]) -> float:
    t0 = time.monotonic()
    subprocess.run(args, check=True, capture_output=True, timeout=300)
    return time.monotonic() - t0


def raw_snapshots(kind: str, info: dict[str, Any], group_id: str, paths: list[str], n: int,
                  scratch: Path) -> list[float]:
    """The backend operation alone, as the CLI the driver uses, on the group just measured."""
    times = []
    for i in range(n):
        if kind == "btrfs":
            src, dst = Path(info["root"]) / "groups" / group_id, Path(info["root"]) / f"raw-{group_id[:8]}-{i}"
            times.append(_run(["btrfs", "subvolume", "snapshot", "-r", str(src), str(dst)]))
            subprocess.run(["btrfs", "subvolume", "delete", str(dst)], capture_output=True, timeout=300)
        elif kind == "zfs":
            snap = f"{info['dataset']}/groups/{group_id}@raw{i}"
            times.append(_run(["zfs", "snapshot", "-r", snap]))
            for _ in range(20):  # zfs-fuse: "dataset is busy" right after use
                if subprocess.run(["zfs", "destroy", "-r", snap], capture_output=True, timeout=120).returncode == 0:
                    break
                time.sleep(0.5)
        else:
            dst = scratch / f"raw-{group_id[:8]}-{i}"
            dst.mkdir(parents=True)
            t0 = time.monotonic()
            for k, p in enumerate(paths):
                subprocess.run(["cp", "-a", "--reflink=auto", p, str(dst / str(k))], check=True, timeout=600)
            subprocess.run(["sync", "-f", str(dst)], check=True, timeout=600)
            times.append(time.monotonic() - t0)
            shutil.rmtree(dst, ignore_errors=True)
    return times


# ------------------------------------------------------------------------------- one case


def run_case(server: LockstepServer, kind: str, info: dict[str, Any], case: Case, cuts: int, restores: int,
             scratch: Path) -> dict[str, Any]:
    api = Api(server.url, f"snap-{kind}")
    rec: dict[str, Any] = {"backend": kind, "case": case.name, "shares": case.shares,
                           "total_bytes": case.total_bytes, "files": case.files}
    gid = api.call("POST", "/consistency-groups", {"consistency_group": {"name": case.name}})["consistency_group"]["id"]
    api.wait_status(f"/consistency-groups/{gid}", "consistency_group", interval=0.02)
    size_gb = max(1, math.ceil(case.total_bytes * 1.25 / max(case.shares, 1) / GIB))
    sids = [api.call("POST", "/shares", {"share": {"share_proto": "NFS", "size": size_gb,
                                                   "consistency_group_id": gid}})["share"]["id"]
            for _ in range(case.shares)]
    late = api.wait_many("shares", "shares", sids, timeout=300, query=f"&consistency_group_id={gid}")
    if late:
        raise RuntimeError(f"{len(late)} shares of the case did not become available")
    paths = [api.call("GET", f"/shares/{sid}/export_locations")["export_locations"][0]["path"] for sid in sids]
    mbps = write_data(paths, case.total_bytes, case.files)
    rec["write_mbps"] = round(mbps, 1)
    if mbps:
        log(f"    wrote {case.total_bytes / GIB:.2f} GiB in {case.files} files at {mbps:.0f} MB/s (untimed), synced")
    cut_s, post_s, cut_ids, methods = [], [], [], set()
    for _ in range(cuts):
        t0 = time.monotonic()
        status, data, post = api.timed("POST", "/cgsnapshots", {"cgsnapshot": {"consistency_group_id": gid}})
        if status != 202:
            raise RuntimeError(f"POST /cgsnapshots -> {status}: {data[:300]!r}")
        cid = json.loads(data)["cgsnapshot"]["id"]
        done = api.wait_status(f"/cgsnapshots/{cid}", "cgsnapshot", timeout=600)
        cut_s.append(done - t0)
        post_s.append(post)
        cut_ids.append(cid)
        methods.add(api.call("GET", f"/cgsnapshots/{cid}")["cgsnapshot"].get("lockstep:consistency", {})
                    .get("method", "?"))
    restore_s = []
    for i in range(restores):
        t0 = time.monotonic()
        body = {"consistency_group": {"name": f"restored-{i}", "source_cgsnapshot_id": cut_ids[i % len(cut_ids)]}}
        new = api.call("POST", "/consistency-groups", body)["consistency_group"]["id"]
        done = api.wait_status(f"/consistency-groups/{new}", "consistency_group", timeout=600)
        restore_s.append(done - t0)
    raw_s = raw_snapshots(kind, info, gid, paths, cuts, scratch)
    rec.update({
        "cgsnapshot": summary_ms(cut_s), "cgsnapshot_post": summary_ms(post_s), "restore": summary_ms(restore_s),
        "raw": summary_ms(raw_s), "method": ",".join(sorted(methods)),
    })
    log(f"    cgsnapshot p50 {rec['cgsnapshot']['p50_ms']} ms (POST {rec['cgsnapshot_post']['p50_ms']} ms), "
        f"restore p50 {rec['restore']['p50_ms']} ms, raw p50 {rec['raw']['p50_ms']} ms, cut {rec['method']}")
    if case.stall:
        writer = StallWriter(paths)
        writer.thread.start()
        time.sleep(1.5)
        t_cuts = time.monotonic()
        for _ in range(cuts):
            status, data, _ = api.timed("POST", "/cgsnapshots", {"cgsnapshot": {"consistency_group_id": gid}})
            cid = json.loads(data)["cgsnapshot"]["id"]
            api.wait_status(f"/cgsnapshots/{cid}", "cgsnapshot", timeout=600, interval=0.01)
            time.sleep(0.2)
        t_end = time.monotonic()
        writer.stop.set()
        writer.thread.join(60)
        rec["stall_baseline"] = writer.window(0, t_cuts)
        rec["stall_during"] = writer.window(t_cuts, t_end)
        log(f"    writer fsync max: {rec['stall_baseline']['max_ms']} ms without cgsnapshots, "
            f"{rec['stall_during']['max_ms']} ms during {cuts} cgsnapshots")
    api.close()
    return rec


def run(workdir: Path, quick: bool, kinds: list[str] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"backends": {}, "cases": []}
    cuts, restores = (3, 2) if quick else (5, 3)
    write_mbps: dict[str, float] = {}
    for kind in kinds or ["btrfs", "posix", "zfs"]:
        ok, reason = available(kind)
        if not ok:
            log(f"snapshots: {kind} not available here: {reason}; skipped")
            out["backends"][kind] = {"skipped": reason}
            continue
        cases, notes = cases_for(kind, quick)
        size = 1024 * GIB  # sparse: the capacity check must not bind
        out["backends"][kind] = {"notes": notes}
        log(f"snapshots: {kind}: {len(cases)} cases, {cuts} cgsnapshots and {restores} restores each")
        bdir = workdir / f"snap-{kind}"
        try:
            with backend(kind, bdir, size) as info:
                server = LockstepServer(bdir, f"sqlite:///{bdir / 'data' / 'lockstep.sqlite'}", backend="",
                                        config_text=info["config"])
                server.upgrade()
                with running(server):
                    for case in cases:
                        if case.total_bytes >= 8 * GIB and write_mbps.get(kind) and \
                                case.total_bytes / 1e6 / write_mbps[kind] > 90:
                            note = (f"{case.name} skipped: writing it would take "
                                    f"{case.total_bytes / 1e6 / write_mbps[kind]:.0f} s at the {write_mbps[kind]:.0f} "
                                    "MB/s measured for 1 GiB (budget 90 s)")
                            log(f"  {kind}: {note}")
                            out["backends"][kind]["notes"].append(note)
                            continue
                        log(f"  {kind}: {case.name}")
                        rec = run_case(server, kind, info, case, cuts, restores, bdir / "scratch")
                        if rec.get("write_mbps") and case.total_bytes >= GIB:
                            write_mbps[kind] = rec["write_mbps"]
                        out["cases"].append(rec)
                    out["backends"][kind]["rss"] = server.processes_info()
        except Exception as exc:  # a broken backend must not stop the other sections
            log(f"snapshots: {kind} failed: {exc!r}")
            out["backends"][kind]["error"] = repr(exc)[:500]
    return out
