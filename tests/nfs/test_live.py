"""A live `lockstep serve` with `nfs = "ganesha"`: the processes are the point.

Ganesha runs in the harness's server namespace (`nfs_wrap`), the API on this host's loopback, the
client in its own namespace. Killing Lockstep with SIGKILL leaves Ganesha serving (clients keep their
mounts); the next Lockstep adopts it (same pid, reloaded on the next change); a Ganesha killed with
SIGKILL is started again by the worker's supervision with the exports of the database; a clean stop
(SIGTERM) stops Ganesha and rpcbind, even the rpcbind a killed Lockstep started.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.api.access_helpers import deny, granted
from tests.nfs.harness import CLIENT_IP, SERVER_IP, Namespaces, NfsClient, namespaces, refused_mount, refused_write
from tests.support import Client, LiveServer, live_server

pytestmark = [pytest.mark.nfs, pytest.mark.root]


@pytest.fixture
def ns() -> Iterator[Namespaces]:
    if os.geteuid() != 0:
        pytest.skip("NFS tests need root (network namespaces, Ganesha)")
    with namespaces() as made:
        yield made


def _ganesha_pid(server: LiveServer) -> int | None:
    try:
        pid = int((server.data_dir / "nfs" / "ganesha.pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _state(client: Client, rule_id: str) -> str:
    return str(client.get(f"/share-access-rules/{rule_id}").json()["access"]["state"])


def _active(client: Client, rule_id: str) -> None:
    client.until(lambda: _state(client, rule_id) == "active", lambda: f"rule {rule_id} is {_state(client, rule_id)}")


def test_ganesha_outlives_a_killed_lockstep_and_comes_back_when_killed_itself(ns: Namespaces, tmp_path: Path) -> None:
    nfs = NfsClient(ns.client_netns)
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_BACKEND="posix",
                     LOCKSTEP_NFS="ganesha", LOCKSTEP_NFS_ADDRESS=SERVER_IP,
                     LOCKSTEP_NFS_WRAP=shlex.join(ns.wrap)) as server:
        client = server.client(version="2.45")
        share = client.create_share()
        pseudo = f"/shares/{share['id']}"
        rw = granted(client, share["id"], access_to=CLIENT_IP)
        _active(client, rw["id"])
        local = tmp_path / "one.txt"
        local.write_bytes(b"one\n")
        wrote = nfs.put(local, pseudo, "one.txt")
        assert wrote.returncode == 0, wrote.stderr + server.log_text()

        ganesha = _ganesha_pid(server)
        assert ganesha is not None
        server.kill(signal.SIGKILL)
        read = nfs.cat(pseudo, "one.txt")  # Lockstep is gone; the export is not
        assert read.returncode == 0 and read.stdout == "one\n", read.stderr

        server.start()
        assert _ganesha_pid(server) == ganesha  # adopted, not started twice
        ro = granted(client, share["id"], access_to="10.231.1.0/24", access_level="ro")  # ro wins
        _active(client, ro["id"])
        assert refused_write(nfs.put(local, pseudo, "two.txt"))  # the adopted Ganesha was reloaded
        assert _ganesha_pid(server) == ganesha

        os.kill(ganesha, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and _ganesha_pid(server) in (None, ganesha):
            time.sleep(0.1)
        assert _ganesha_pid(server) not in (None, ganesha), server.log_text()
        # The new Ganesha writes its pid file before it serves: clients see the export again within moments.
        reads: list[subprocess.CompletedProcess[str]] = []

        def served() -> bool:
            reads.append(nfs.cat(pseudo, "one.txt"))
            return reads[-1].returncode == 0

        client.until(served, lambda: f"the export did not come back: {reads[-1].stderr}", timeout=30)
        assert reads[-1].stdout == "one\n"
        assert refused_write(nfs.put(local, pseudo, "three.txt"))

        for rule in (ro, rw):
            assert deny(client, share["id"], rule["id"]).status_code == 202
        client.until(lambda: refused_mount(nfs.ls(pseudo)), lambda: "the export outlived its last rule")

        # A clean stop of this second process stops the Ganesha it runs and the rpcbind the killed one started.
        server.kill(signal.SIGTERM)
    left = subprocess.run(["ip", "netns", "pids", ns.server_netns], capture_output=True, text=True, check=True)
    assert left.stdout.split() == [], server.log_text()


def test_measured_allow_to_active_to_first_access_and_throughput(
        ns: Namespaces, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    """Figures for docs/performance.md (recorded, never asserted on time): a live server's allow ->
    `active` and allow -> first successful client access, and 64 MiB written and read over NFSv3 (libnfs)
    against the same copy on the local filesystem."""
    nfs = NfsClient(ns.client_netns)
    with live_server(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}", LOCKSTEP_BACKEND="posix",
                     LOCKSTEP_NFS="ganesha", LOCKSTEP_NFS_ADDRESS=SERVER_IP,
                     LOCKSTEP_NFS_WRAP=shlex.join(ns.wrap)) as server:
        client = server.client(version="2.45")
        share = client.create_share()
        pseudo = f"/shares/{share['id']}"
        local_dir = Path(next(loc["path"] for loc in client.get(f"/shares/{share['id']}/export_locations").json()
                              ["export_locations"] if loc["path"].startswith("/")))
        started = time.perf_counter()
        rw = granted(client, share["id"], access_to=CLIENT_IP)
        while _state(client, rw["id"]) != "active":
            assert time.perf_counter() - started < 30, _state(client, rw["id"])
            time.sleep(0.005)
        active = time.perf_counter() - started
        while nfs.ls(pseudo).returncode != 0:
            assert time.perf_counter() - started < 30
        first_access = time.perf_counter() - started

        data = os.urandom(64 << 20)
        source = tmp_path / "64MiB"
        source.write_bytes(data)
        timed: dict[str, float] = {}
        t0 = time.perf_counter()
        wrote = nfs.put(source, pseudo, "big")
        timed["nfs write"] = time.perf_counter() - t0
        assert wrote.returncode == 0, wrote.stderr
        back = tmp_path / "back"
        t0 = time.perf_counter()
        read = subprocess.run(["ip", "netns", "exec", ns.client_netns, "nfs-cp", nfs.url(pseudo, "big"), str(back)],
                              capture_output=True, text=True, timeout=120)
        timed["nfs read"] = time.perf_counter() - t0
        assert read.returncode == 0, read.stderr
        assert back.read_bytes() == data == (local_dir / "big").read_bytes()
        t0 = time.perf_counter()
        shutil.copyfile(source, local_dir / "local-big")
        timed["local write"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        shutil.copyfile(local_dir / "local-big", tmp_path / "local-back")
        timed["local read"] = time.perf_counter() - t0
        rates = ", ".join(f"{name} {64 / seconds:.0f} MiB/s" for name, seconds in timed.items())
        record_property("driver_measurement", f"nfs: allow -> active {active * 1000:.0f} ms, allow -> first "
                                              f"client access {first_access * 1000:.0f} ms; 64 MiB: {rates}")
