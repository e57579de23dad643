"""The two ways Lockstep talks to a Ceph cluster: the `ceph` command (mon and mgr commands, among them
the mgr `fs subvolume` family) and a `ceph-fuse` mount of the file system (data: copies, `.snap`
directories, quotas in xattrs).

Why the command and not the python3-rados/python3-cephfs bindings: Debian builds them for its own
/usr/bin/python3 only, and Lockstep runs in a virtualenv whose interpreter may differ (pyenv builds,
other minor versions); a binding that loads in one and not in the other is a deployment trap. The
cost is a process per mgr command (about 0.2 s on one node, which mgr/volumes itself dominates);
everything that must be fast (a `.snap` mkdir is 4–5 ms through ceph-fuse) goes through the mount.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lockstep.adapters.drivers._support import INSTALL_HINT
from lockstep.service.storage import DriverError


class CephCommandError(DriverError):
    """A `ceph` command exited non-zero; `errno` is its exit status (the command's negated result)."""

    def __init__(self, message: str, errno: int, detail: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.detail = detail


@dataclass(frozen=True)
class CephClient:
    """One cephx identity on one cluster, as the `ceph` command and `ceph-fuse` take it."""

    conf: Path
    client_id: str = "admin"
    keyring: Path | None = None

    def _identity(self) -> list[str]:
        args = ["-c", str(self.conf), "--id", self.client_id]
        if self.keyring is not None:
            args += ["--keyring", str(self.keyring)]
        return args

    def run(self, *args: str, action: str, timeout: float = 120.0) -> str:
        """Run `ceph <args>`; its stdout, or CephCommandError carrying the errno."""
        argv = ["ceph", *self._identity(), *args]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise DriverError(f"{action} failed: the `ceph` command is missing; {INSTALL_HINT}") from exc
        except subprocess.TimeoutExpired as exc:
            raise DriverError(f"{action} failed: `ceph {' '.join(args)}` did not answer within {timeout:g}s; "
                              "check the cluster's health with `ceph status`") from exc
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().replace("\n", " | ")
            raise CephCommandError(f"{action} failed: `ceph {' '.join(args)}` exited {proc.returncode}: {detail}",
                                   proc.returncode, detail)
        return proc.stdout

    def json(self, *args: str, action: str) -> object:
        out = self.run(*args, "--format", "json", action=action)
        return json.loads(out) if out.strip() else None

    # ceph-fuse ------------------------------------------------------------------------------
    def mount(self, mountpoint: Path, fs_name: str, root: str = "/", *, extra: Sequence[str] = ()) -> None:
        """Mount `fs_name` (its `root`) at `mountpoint` with ceph-fuse, unless a live mount is there.

        A mount whose ceph-fuse died (ENOTCONN) is detached first. Each mount gets its own pid
        file next to it: a `pid file` in the cluster's [client] or [global] section would make a
        second ceph-fuse of the same identity on this host fail to start.
        """
        if mounted(mountpoint):
            return
        detach(mountpoint)
        mountpoint.mkdir(parents=True, exist_ok=True)
        argv = ["ceph-fuse", *self._identity(), f"--client_fs={fs_name}", "-r", root,
                "--pid-file", str(mountpoint.with_name(f".{mountpoint.name}.pid")), *extra, str(mountpoint)]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                                  stdin=subprocess.DEVNULL)
        except FileNotFoundError as exc:
            raise DriverError(f"mounting CephFS {fs_name} failed: `ceph-fuse` is missing; {INSTALL_HINT}") from exc
        if proc.returncode != 0 or not mounted(mountpoint):
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DriverError(f"mounting CephFS {fs_name} at {mountpoint} failed: {detail[0]}; check that the "
                              f"cluster is up (`ceph -c {self.conf} status`) and that /dev/fuse exists")


def mounted(mountpoint: Path) -> bool:
    """A live mount at `mountpoint` (a dead FUSE mount answers ENOTCONN and is not live)."""
    try:
        return os.path.ismount(mountpoint) and os.stat(mountpoint) is not None
    except OSError:
        return False


def _in_mount_table(mountpoint: Path) -> bool:
    target = str(mountpoint)
    with open("/proc/self/mounts", encoding="utf-8") as fh:
        return any(line.split()[1] == target for line in fh if len(line.split()) > 1)


def _pid_of(mountpoint: Path) -> int | None:
    try:
        return int(mountpoint.with_name(f".{mountpoint.name}.pid").read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def detach(mountpoint: Path, timeout: float = 10.0) -> None:
    """Unmount `mountpoint` if anything is mounted there (live or dead), and wait for its ceph-fuse
    to finish closing its session (a client cut off from its MDS mid-close would hang forever)."""
    pid = _pid_of(mountpoint)
    if _in_mount_table(mountpoint):
        tool = shutil.which("fusermount3") or shutil.which("fusermount")
        commands = ([[tool, "-u", str(mountpoint)]] if tool else []) + [["umount", str(mountpoint)]] + \
            ([[tool, "-u", "-z", str(mountpoint)]] if tool else []) + [["umount", "-l", str(mountpoint)]]
        for argv in commands:
            subprocess.run(argv, capture_output=True, check=False, stdin=subprocess.DEVNULL)
            if not _in_mount_table(mountpoint):
                break
        else:
            raise DriverError(f"cannot unmount {mountpoint}; stop the processes using it "
                              f"(fuser -m {mountpoint}) and retry")
    if pid is None:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)  # our own ceph-fuse (its pid file is next to our mount point)
