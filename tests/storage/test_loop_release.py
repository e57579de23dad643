"""Stopping `lockstep serve` (what Ctrl-C on `make run` does) unmounts the btrfs image the `auto` backend
mounted and frees its loop device; a loop device the service attaches frees itself at any unmount. With
NFS on, the stop first stops the NFS-Ganesha (and rpcbind) it started and detaches the bind mounts of the
subvolumes it exported, which would otherwise keep the image mounted."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.adapters.drivers import loopfs
from tests.api.access_helpers import granted
from tests.nfs.harness import CLIENT_IP, SERVER_IP, NfsClient, namespaces
from tests.support import Client, live_server

pytestmark = pytest.mark.root


@pytest.fixture
def scratch() -> Iterator[Path]:
    ok, reason = loopfs.btrfs_available()
    if not ok:
        pytest.skip(f"btrfs unavailable: {reason}")
    # Mounts live outside pytest's temporary directories, which pytest prunes by walking them.
    path = Path(tempfile.mkdtemp(prefix="lockstep-release-", dir="/var/tmp"))
    try:
        yield path
    finally:
        loopfs.release(path / "data" / "backends" / "default")
        shutil.rmtree(path, ignore_errors=True)


def loop_devices(image: Path) -> list[dict[str, object]]:
    out = subprocess.run(["losetup", "--json", "--list", "--output", "NAME,AUTOCLEAR,BACK-FILE"],
                         capture_output=True, text=True, check=True).stdout
    devices = json.loads(out)["loopdevices"] if out.strip() else []
    return [d for d in devices if str(d.get("back-file", "")).startswith(str(image))]


def test_stop_releases_the_mount_and_the_loop_device(scratch: Path) -> None:
    data = scratch / "data"
    image, root = data / "default.btrfs.img", data / "backends" / "default"
    with live_server(data, f"sqlite:///{scratch / 'lockstep.sqlite'}", LOCKSTEP_BACKEND="auto",
                     LOCKSTEP_CONFIG=str(_config(scratch))) as server:
        assert loopfs.mount_source(root) is not None, server.log_text()
        devices = loop_devices(image)
        assert len(devices) == 1 and devices[0]["autoclear"] in (True, "1", 1), devices
        client = server.client()
        project = client.project
        client.create_share()
        proc = server.procs.pop()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, server.log_text()
    assert loopfs.mount_source(root) is None
    assert loop_devices(image) == []
    # The next start mounts the same image again, with its data.
    with live_server(data, f"sqlite:///{scratch / 'lockstep.sqlite'}", LOCKSTEP_BACKEND="auto",
                     LOCKSTEP_CONFIG=str(_config(scratch))) as server:
        again = server.client(project)
        shares = again.get("/shares/detail").json()["shares"]
        assert [s["status"] for s in shares] == ["available"]
        path = again.get(f"/shares/{shares[0]['id']}/export_locations").json()["export_locations"][0]["path"]
        assert Path(path).is_dir() and loopfs.mount_source(root) is not None


def _config(scratch: Path) -> Path:
    path = scratch / "lockstep.toml"
    path.write_text('[backend.default]\ndriver = "auto"\nimage_size_gb = 2\n')
    return path


@pytest.mark.nfs
def test_stop_with_nfs_stops_ganesha_detaches_its_binds_and_releases_the_image(scratch: Path) -> None:
    data = scratch / "data"
    image, root, nfs_state = data / "default.btrfs.img", data / "backends" / "default", data / "nfs"
    # The server mounts the image after the harness made Ganesha's mount namespace: a shared mount over the
    # scratch directory and a slave namespace carry that mount (and its unmount) into Ganesha's namespace.
    subprocess.run(["mount", "--bind", str(scratch), str(scratch)], check=True)
    try:
        subprocess.run(["mount", "--make-shared", str(scratch)], check=True)
        with namespaces(propagation="slave") as ns:
            def mounted_for_ganesha() -> set[str]:
                table = subprocess.run(["nsenter", f"--mount=/proc/{ns.holder_pid}/ns/mnt", "cat", "/proc/self/mounts"],
                                       capture_output=True, text=True, check=True).stdout
                return {line.split()[1] for line in table.splitlines() if line.split()[1].startswith(str(scratch))}

            with live_server(data, f"sqlite:///{scratch / 'lockstep.sqlite'}", LOCKSTEP_BACKEND="auto",
                             LOCKSTEP_CONFIG=str(_config(scratch)), LOCKSTEP_NFS="ganesha",
                             LOCKSTEP_NFS_ADDRESS=SERVER_IP, LOCKSTEP_NFS_WRAP=shlex.join(ns.wrap)) as server:
                client = server.client(version="2.45")
                share = client.create_share()
                rule = granted(client, share["id"], access_to=CLIENT_IP)
                client.until(lambda: _rule_state(client, rule["id"]) == "active",
                             lambda: f"rule {rule['id']} is {_rule_state(client, rule['id'])}: {server.log_text()}")
                local = scratch / "hello.txt"
                local.write_bytes(b"hello\n")
                wrote = NfsClient(ns.client_netns).put(local, f"/shares/{share['id']}", "hello.txt")
                assert wrote.returncode == 0, wrote.stderr + server.log_text()
                path = next(loc["path"] for loc in client.get(f"/shares/{share['id']}/export_locations").json()
                            ["export_locations"] if loc["path"].startswith("/"))
                assert (Path(path) / "hello.txt").read_bytes() == b"hello\n"  # served from the btrfs subvolume
                assert (nfs_state / "binds").read_text().split() == [path]
                assert {str(root), path} <= mounted_for_ganesha()  # the image, and the subvolume bound onto itself
                ganesha = int((nfs_state / "ganesha.pid").read_text())
                assert _netns_pids(ns.server_netns) >= {ganesha}  # Ganesha, and the rpcbind it needed

                # kill -9 leaves Ganesha serving (clients keep their mounts), with its binds and the image.
                server.kill(signal.SIGKILL)
                read = NfsClient(ns.client_netns).cat(f"/shares/{share['id']}", "hello.txt")
                assert read.returncode == 0 and read.stdout == "hello\n", read.stderr
                assert {str(root), path} <= mounted_for_ganesha() and len(loop_devices(image)) == 1
                # The next start adopts that Ganesha; its clean stop releases what both processes left.
                server.start()
                assert int((nfs_state / "ganesha.pid").read_text()) == ganesha
                proc = server.procs.pop()
                proc.send_signal(signal.SIGTERM)
                assert proc.wait(60) == 0, server.log_text()
            assert loopfs.mount_source(root) is None, server.log_text()
            assert loop_devices(image) == []
            assert _netns_pids(ns.server_netns) == set()  # no Ganesha, no rpcbind
            assert not os.path.exists(f"/proc/{ganesha}")
            assert mounted_for_ganesha() == {str(scratch)}  # no bind, no image left where Ganesha ran
            assert (nfs_state / "binds").read_text() == ""
    finally:
        loopfs.release(root)
        subprocess.run(["umount", "--lazy", str(scratch)], check=False)


def _rule_state(client: Client, rule_id: str) -> str:
    return str(client.get(f"/share-access-rules/{rule_id}").json()["access"]["state"])


def _netns_pids(netns: str) -> set[int]:
    out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=True).stdout
    return {int(pid) for pid in out.split()}
