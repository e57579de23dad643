"""Writers and a cutter for the torn-cut measurement of raw `.snap` group snapshots (test_gate.py).

Counters A (in subvolume sA) and B (in subvolume sB) of one subvolume group: the writer(s) write
A=i, fsync, then B=i, fsync, so at every instant A == B or A == B + 1. A cut (a `.snap` mkdir of the
group directory) is torn when it holds another pair. The writers publish the last value whose
fsync returned (acknowledged) so each cut can also be checked against what was acknowledged before
the mkdir began (*missing*: an acknowledged value not in the cut) and when it returned (*leak*: a
value more than one step past what was acknowledged at the return).

Writers run as processes of their own on their own ceph-fuse mounts: one process for both counters
(one client), or A and B in two processes on two mounts (two client sessions) with B written only
after A's fsync was acknowledged.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

WIDTH = 20


def encode(value: int) -> bytes:
    return f"{value:0{WIDTH - 1}d}\n".encode()


def read_counter(path: Path) -> int:
    return int(path.read_text(encoding="ascii").strip() or "0")


def _write(fd: int, value: int) -> None:
    os.pwrite(fd, encode(value), 0)
    os.fsync(fd)


def one_client(path_a: str, path_b: str, acked_a: Synchronized[int], acked_b: Synchronized[int],
               stop: Synchronized[int]) -> None:
    fd_a, fd_b = os.open(path_a, os.O_RDWR), os.open(path_b, os.O_RDWR)
    i = 0
    while not stop.value:
        i += 1
        _write(fd_a, i)
        acked_a.value = i
        _write(fd_b, i)
        acked_b.value = i


def client_a(path_a: str, acked_a: Synchronized[int], stop: Synchronized[int], to_b: Connection) -> None:
    fd = os.open(path_a, os.O_RDWR)
    i = 0
    while not stop.value:
        i += 1
        _write(fd, i)
        acked_a.value = i
        to_b.send(i)
        to_b.recv()  # B's fsync of i was acknowledged
    to_b.send(0)


def client_b(path_b: str, acked_b: Synchronized[int], from_a: Connection) -> None:
    fd = os.open(path_b, os.O_RDWR)
    while (i := from_a.recv()) != 0:
        _write(fd, i)
        acked_b.value = i
        from_a.send(i)


@dataclass
class Cut:
    name: str
    acked_before: tuple[int, int]
    acked_after: tuple[int, int]
    mkdir_ms: float
    value: tuple[int, int] = (0, 0)


@dataclass
class Run:
    cuts: list[Cut] = field(default_factory=list)
    writer_iterations: int = 0
    seconds: float = 0.0

    def torn(self) -> list[Cut]:
        return [c for c in self.cuts if not (c.value[0] == c.value[1] or c.value[0] == c.value[1] + 1)]

    def missing(self) -> list[Cut]:
        return [c for c in self.cuts if c.value[0] < c.acked_before[0] or c.value[1] < c.acked_before[1]]

    def leaks(self) -> list[Cut]:
        return [c for c in self.cuts if c.value[0] > c.acked_after[0] + 1 or c.value[1] > c.acked_after[1] + 1]


def cut_while_writing(group_dirs: tuple[Path, Path, Path], counters: tuple[str, str], cuts: int, clients: int,
                      prefix: str) -> Run:
    """Run the writer(s) on mounts 1 (and 2), cut `cuts` times through mount 3 (`group_dirs` are the
    group's directory seen through each mount; `counters` the counter files relative to it)."""
    ctx = multiprocessing.get_context("spawn")
    acked_a, acked_b, stop = ctx.Value("q", 0), ctx.Value("q", 0), ctx.Value("q", 0)
    path_a = str(group_dirs[0] / counters[0])
    path_b = str(group_dirs[1 if clients == 2 else 0] / counters[1])
    if clients == 1:
        procs = [ctx.Process(target=one_client, args=(path_a, path_b, acked_a, acked_b, stop))]
    else:
        end_a, end_b = ctx.Pipe()
        procs = [ctx.Process(target=client_a, args=(path_a, acked_a, stop, end_a)),
                 ctx.Process(target=client_b, args=(path_b, acked_b, end_b))]
    for proc in procs:
        proc.start()
    run = Run()
    rng = random.Random(12)
    started = time.monotonic()
    try:
        while acked_b.value < 5:  # the writers are under way
            time.sleep(0.01)
            assert all(p.is_alive() for p in procs), "a writer died before the first cut"
        for n in range(cuts):
            time.sleep(rng.uniform(0.02, 0.15))
            name = f"{prefix}-{n:03d}"
            before = (acked_a.value, acked_b.value)
            t0 = time.perf_counter()
            os.mkdir(group_dirs[2] / ".snap" / name)
            mkdir_ms = (time.perf_counter() - t0) * 1000
            run.cuts.append(Cut(name, before, (acked_a.value, acked_b.value), mkdir_ms))
            assert all(p.is_alive() for p in procs), "a writer died"
    finally:
        stop.value = 1
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
    run.seconds = time.monotonic() - started
    run.writer_iterations = acked_a.value
    assert all(p.exitcode == 0 for p in procs), f"writer exit codes {[p.exitcode for p in procs]}"
    return run
