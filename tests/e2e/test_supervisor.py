"""`lockstep serve` as processes: by default one API process per core and one worker process under one
supervisor; storage work runs in the worker process, not in an API process; a child killed with -9 is
replaced; SIGTERM leaves nothing behind; a supervisor killed with -9 takes its children with it."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import LiveServer, live_server


def children(parent: int) -> dict[int, str]:
    """pid -> role ("api" or "worker") of the processes whose parent is `parent`, read from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == parent and fields[0] != "Z" and comm.startswith("lockstep-"):
            found[int(entry.name)] = comm.removeprefix("lockstep-")
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(what: str, check: object, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def roles(pids: dict[int, str], role: str) -> set[int]:
    return {pid for pid, r in pids.items() if r == role}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    config = tmp_path / "lockstep.toml"
    config.write_text(f'[backend.default]\ndriver = "fake"\nspin = "1.5"\ncall_log = "{tmp_path / "calls.log"}"\n')
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}", start=False,
                     LOCKSTEP_CONFIG=str(config)) as srv:
        del srv.env["LOCKSTEP_PROCESSES"]  # the default: one API process per core
        srv.start()
        yield srv


def test_default_is_an_api_process_per_core_and_a_worker_process(server: LiveServer, tmp_path: Path) -> None:
    parent = server.procs[0].pid
    pids = children(parent)
    assert len(roles(pids, "api")) == len(os.sched_getaffinity(0)), pids
    assert len(roles(pids, "worker")) == 1, pids
    assert parent not in pids

    # Storage work (a driver call that holds the GIL for 1.5 s) runs in the worker process, and the API
    # answers meanwhile.
    client = server.client()
    share = client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}}).json()["share"]
    wait_for("the driver call", lambda: (tmp_path / "calls.log").exists() and share["id"] in (
        tmp_path / "calls.log").read_text())
    answered_while_busy = []
    while (status := client.get(f"/shares/{share['id']}").json()["share"]["status"]) == "creating":
        answered_while_busy.append(status)
    assert answered_while_busy, "the share settled before a request was answered"
    assert status == "available"
    ran_in = {int(line.split()[2]) for line in (tmp_path / "calls.log").read_text().splitlines()
              if line.startswith("create_share ")}
    assert ran_in == roles(pids, "worker"), (ran_in, pids)


def test_a_killed_child_is_replaced(server: LiveServer) -> None:
    parent = server.procs[0].pid
    before = children(parent)
    api = min(roles(before, "api"))
    worker = min(roles(before, "worker"))
    os.kill(api, signal.SIGKILL)
    os.kill(worker, signal.SIGKILL)

    def replaced() -> bool:  # one look at /proc: three would race the kills (a dying child drops out between)
        now = children(parent)
        return len(now) == len(before) and api not in now and worker not in now

    wait_for("new API and worker processes", replaced)
    after = children(parent)
    assert len(roles(after, "api")) == len(roles(before, "api")) and len(roles(after, "worker")) == 1, after
    # The replacements serve: the API answers and the new worker settles new work.
    client = server.client()
    share = client.create_share()
    assert client.wait(f"/shares/{share['id']}", "share", timeout=60)["status"] == "available"


def test_sigterm_stops_every_process(server: LiveServer) -> None:
    proc = server.procs[0]
    pids = children(proc.pid)
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(60) == 0, server.log_text()
    assert not [pid for pid in pids if alive(pid)], server.log_text()


def test_children_die_with_a_killed_supervisor(server: LiveServer) -> None:
    proc = server.procs[0]
    pids = children(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)  # the supervisor only, not its process group
    proc.wait(30)
    wait_for("the children to exit", lambda: not [pid for pid in pids if alive(pid)], timeout=60)


def test_sigterm_stops_promptly_with_storage_calls_in_flight(tmp_path: Path) -> None:
    """Two operations whose storage calls take 60 s are running when SIGTERM comes: the worker does not wait
    for them (it waited up to 10 s per thread, and the supervisor's 30 s ran out); they are left to their
    leases, and a worker started later settles them."""
    config = tmp_path / "lockstep.toml"
    calls = tmp_path / "calls.log"
    config.write_text(f'[backend.default]\ndriver = "fake"\ndelay = "60"\ncall_log = "{calls}"\n')
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'lockstep.sqlite'}",
                     LOCKSTEP_CONFIG=str(config)) as server:
        client = server.client()
        shares = [client.post("/shares", {"share": {"size": 1, "share_proto": "NFS"}}).json()["share"]
                  for _ in range(2)]  # the worker runs two operations at once
        wait_for("both storage calls", lambda: calls.exists() and all(
            f"create_share {s['id']}" in calls.read_text() for s in shares))
        proc = server.procs[0]
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(60) == 0, server.log_text()
        took = time.monotonic() - started
        assert took < 10, f"stopping took {took:.1f} s: {server.log_text()}"
        assert "left to their leases" in server.log_text()
        server.procs.clear()

        config.write_text(f'[backend.default]\ndriver = "fake"\ncall_log = "{calls}"\n')
        server.start()
        for share in shares:  # taken over once the lease (3 s in tests) runs out
            assert client.wait(f"/shares/{share['id']}", "share", timeout=60)["status"] == "available"
