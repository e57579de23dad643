"""File-backed ZFS pools for tests and trials (zfs-fuse or OpenZFS).

- ``zfs_available() -> (bool, reason)``: are the zfs tools present and is a ZFS runtime reachable
  (the OpenZFS kernel module's /dev/zfs, or the zfs-fuse binary to start a daemon)?
- ``ensure_zfs_daemon(pidfile) -> int | None``: with zfs-fuse, start the daemon when it is not
  running; returns the pid of a daemon this call started (the caller may stop it), else None.
- ``stop_zfs_daemon(pid)``: stop a daemon that ensure_zfs_daemon started.
- ``create_file_pool(name, image_path, size_bytes, mountpoint)``: a pool on a sparse image file.
- ``destroy_file_pool(name, image_path)``: destroy the pool (retrying while busy), delete the image.
- ``pool_names() -> list[str]``.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from lockstep.adapters.drivers._support import INSTALL_HINT, retry, run
from lockstep.adapters.drivers.loopfs import create_sparse_image
from lockstep.service.storage import DriverError


def _daemon_reachable() -> tuple[bool, str]:
    proc = run(["zpool", "list", "-H", "-o", "name"], action="list zfs pools", check=False)
    if proc.returncode == 0:
        return True, "ok"
    return False, (proc.stderr or proc.stdout).strip().replace("\n", " ")


def zfs_available() -> tuple[bool, str]:
    if os.geteuid() != 0:
        return False, "needs root"
    for tool in ("zfs", "zpool"):
        if shutil.which(tool) is None:
            return False, f"{tool} not found; {INSTALL_HINT}"
    reachable, reason = _daemon_reachable()
    if reachable:
        return True, "ok"
    if shutil.which("zfs-fuse") is not None:
        if not Path("/dev/fuse").exists():
            return False, "zfs-fuse needs /dev/fuse"
        return True, "zfs-fuse daemon can be started"
    return False, f"no ZFS runtime: {reason}"


def ensure_zfs_daemon(pidfile: str = "/run/zfs-fuse.pid", timeout: float = 15.0) -> int | None:
    """Start zfs-fuse when ZFS is not reachable. Returns the started daemon's pid, or None."""
    if _daemon_reachable()[0]:
        return None
    if shutil.which("zfs-fuse") is None:
        raise DriverError(f"ZFS is not reachable and zfs-fuse is not installed; {INSTALL_HINT}")
    _remove_stale_pidfile(pidfile)
    run(["zfs-fuse", "--pidfile", pidfile], action="start the zfs-fuse daemon", hint="see syslog for its errors")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _daemon_reachable()[0]:
            try:
                return int(Path(pidfile).read_text(encoding="utf-8").strip())
            except (OSError, ValueError):
                return None
        time.sleep(0.2)
    raise DriverError(f"zfs-fuse did not become reachable within {timeout:g}s; check syslog")


def _remove_stale_pidfile(pidfile: str) -> None:
    """A zfs-fuse that was killed leaves its pidfile behind, and a new one then refuses to start."""
    path = Path(pidfile)
    try:
        pid = int(path.read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        path.unlink(missing_ok=True)  # unreadable or garbage: not a live daemon's
        return
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
    except PermissionError:
        pass  # alive, someone else's


def stop_zfs_daemon(pid: int, timeout: float = 15.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)


def pool_names() -> list[str]:
    proc = run(["zpool", "list", "-H", "-o", "name"], action="list zfs pools")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def create_file_pool(name: str, image_path: str | os.PathLike[str], size_bytes: int, mountpoint: str) -> None:
    """Create pool `name` on a new sparse image file, with its root dataset mounted at `mountpoint`."""
    image = os.path.realpath(image_path)
    create_sparse_image(image, size_bytes)
    try:
        run(
            ["zpool", "create", "-m", mountpoint, name, image],
            action=f"create zfs pool {name} on {image}",
            hint="check that the daemon runs and the name is not taken (`zpool list`)",
        )
    except DriverError:
        os.unlink(image)
        raise


def destroy_file_pool(name: str, image_path: str | os.PathLike[str]) -> None:
    """Destroy pool `name` (if it exists) and delete its image file. Idempotent."""
    if name in pool_names():
        retry(
            ["zpool", "destroy", "-f", name],
            action=f"destroy zfs pool {name}",
            hint="something still uses it; check `fuser -vm` on its mountpoints",
            transient=("busy",),
            ok_if=("no such pool",),
            attempts=12,
        )
    Path(image_path).unlink(missing_ok=True)
