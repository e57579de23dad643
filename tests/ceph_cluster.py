"""One throw-away Ceph cluster per test session, booted by scripts/ceph-cluster.sh (tests/conftest.py's
`ceph_cluster` fixture), and ceph-fuse mounts of it for the tests' own clients.

Booting costs about 12 s and 0.5 GB, so every test that needs Ceph shares one cluster and one xdist
worker (`work_unit` puts them in the "ceph" unit). It is skipped only when the Ceph packages are not
installed; a cluster that fails to boot fails the tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from lockstep.adapters.drivers.cephclient import CephClient, detach, mounted

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ceph-cluster.sh"
TOOLS = ("ceph-mon", "ceph-mgr", "ceph-osd", "ceph-mds", "ceph-fuse", "ceph", "ceph-authtool", "monmaptool")
FS_NAME = "cephfs"


@dataclass(frozen=True)
class CephCluster:
    directory: Path
    conf: Path
    boot_seconds: float

    @property
    def admin(self) -> CephClient:
        return CephClient(self.conf)

    @contextmanager
    def mount(self, name: str | None = None) -> Iterator[Path]:
        """A ceph-fuse mount of the whole file system (a client session of its own), unmounted afterwards."""
        point = self.directory / "mnt" / (name or uuid.uuid4().hex[:8])
        self.admin.mount(point, FS_NAME)
        try:
            yield point
        finally:
            detach(point)
            assert not mounted(point)


def missing_tools() -> list[str]:
    search = os.environ.get("PATH", "") + ":/usr/sbin:/sbin"
    return [tool for tool in TOOLS if shutil.which(tool, path=search) is None]


def _mounts_under(directory: Path) -> list[str]:
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        return [line.split()[1] for line in fh if line.split()[1].startswith(f"{directory}/")]


def _daemons_of(conf: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-a", "-f", str(conf)], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


@contextmanager
def session_cluster() -> Iterator[CephCluster]:
    missing = missing_tools()
    if missing:
        pytest.skip(f"Ceph packages are not installed (missing {', '.join(missing)}); "
                    "run scripts/install-system-deps.sh as root")
    directory = Path(tempfile.mkdtemp(prefix="lockstep-ceph-", dir="/var/tmp"))
    started = time.monotonic()
    proc = subprocess.run(["bash", str(SCRIPT), "up", str(directory)], capture_output=True, text=True, timeout=300)
    boot = time.monotonic() - started
    try:
        assert proc.returncode == 0, f"the Ceph cluster did not boot: {proc.stderr[-2000:]}"
        yield CephCluster(directory, directory / "ceph.conf", boot)
    finally:
        conf = directory / "ceph.conf"
        subprocess.run(["bash", str(SCRIPT), "down", str(directory)], capture_output=True, text=True, timeout=120)
        assert _mounts_under(directory) == [], f"mounts left under {directory}"
        assert _daemons_of(conf) == [], f"Ceph daemons left running: {_daemons_of(conf)}"
        assert not directory.exists(), f"{directory} was not removed"
