"""Stopping `lockstep serve` (what Ctrl-C on `make run` does) unmounts the btrfs image the `auto` backend
mounted and frees its loop device; a loop device the service attaches frees itself at any unmount."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from lockstep.adapters.drivers import loopfs
from tests.support import live_server

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
