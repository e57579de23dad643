"""How Lockstep talks to a Ceph cluster: mon and mgr commands (among them the mgr's `fs subvolume` family)
through a helper process holding one RADOS connection (`ceph_commands.py`, run by the interpreter
python3-rados is built for), the `ceph` command for what only it does (`tell`), and a `ceph-fuse` mount
of the file system for data (copies, `.snap` directories).

Why not import python3-rados: Debian builds it for /usr/bin/python3 only, and Lockstep runs in a
virtualenv whose interpreter may be another build or version; a binding that loads in one and not the
other is a deployment trap. Why not a `ceph` command per call: measured on this machine kind, a
`ceph` process costs 0.2 s idle and 0.7 s on a busy host (an interpreter start and a new connection),
a command on the helper's held connection 3-10 ms plus the mgr's own work (40-120 ms for
`fs subvolume create`). Everything that must be fast (a `.snap` mkdir is 4-5 ms) goes through the mount.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lockstep.adapters.drivers._support import INSTALL_HINT
from lockstep.service.storage import DriverError


class CephCommandError(DriverError):
    """A `ceph` command exited non-zero; `errno` is its exit status (the command's negated result)."""

    def __init__(self, message: str, errno: int, detail: str) -> None:
        super().__init__(message)
        self.errno = errno
        self.detail = detail


HELPER = Path(__file__).with_name("ceph_commands.py")
#: A command argument as the mon and mgr take it in JSON; None leaves it out.
Arg = str | int | bool | None
#: The client metadata key a tagged mount carries its worker process's identity under.
OWNER_KEY = "lockstep_owner"
#: The interpreter Debian's python3-rados is built for (the one the `ceph` command runs on, too).
SYSTEM_PYTHON = "/usr/bin/python3"


class _Helper:
    """The `ceph_commands.py` process of one CephClient: started on first use, restarted when it died."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[str] | None = None

    def ask(self, client: CephClient, request: dict[str, object], action: str) -> dict[str, object]:
        with self.lock:
            for attempt in (1, 2):
                proc = self._running(client, action)
                assert proc.stdin is not None and proc.stdout is not None
                try:
                    proc.stdin.write(json.dumps(request) + "\n")
                    proc.stdin.flush()
                    line = proc.stdout.readline()
                except (BrokenPipeError, OSError):
                    line = ""
                if line:
                    reply = json.loads(line)
                    assert isinstance(reply, dict)
                    return reply
                self.stop()
                if attempt == 2:
                    raise DriverError(f"{action} failed: the Ceph command helper ({HELPER.name}) exited; "
                                      "check the cluster (`ceph status`) and retry")
        raise AssertionError("unreachable")

    def _running(self, client: CephClient, action: str) -> subprocess.Popen[str]:
        if self.proc is not None and self.proc.poll() is None:
            return self.proc
        argv = [client.python, str(HELPER), str(client.conf), client.client_id, str(client.keyring or "")]
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    text=True, start_new_session=True)
        except FileNotFoundError as exc:
            raise DriverError(f"{action} failed: {client.python} is missing; {INSTALL_HINT}") from exc
        assert proc.stdout is not None
        hello = json.loads(proc.stdout.readline() or '{"ready": false, "err": "no answer"}')
        if not hello.get("ready"):
            proc.wait(timeout=10)
            raise DriverError(f"{action} failed: cannot reach the Ceph cluster of {client.conf} as "
                              f"{client.client_id}: {hello.get('err')}; check the conf, the keyring and "
                              f"`ceph -c {client.conf} status` (python3-rados: {INSTALL_HINT})")
        self.proc = proc
        return proc

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            self.proc = None


@dataclass(frozen=True)
class CephClient:
    """One cephx identity on one cluster, as the `ceph` command and `ceph-fuse` take it."""

    conf: Path
    client_id: str = "admin"
    keyring: Path | None = None
    python: str = SYSTEM_PYTHON
    #: The worker process this client's mounts belong to (service.fencing.process_identity): every ceph-fuse
    #: session carries it as client metadata `lockstep_owner`, so that the MDS can evict exactly that
    #: process's sessions (`client evict client_metadata.lockstep_owner=...`) and none of another's that
    #: uses the same cephx id. None: untagged (a tenant's or a test's own client).
    tag: str | None = None
    _helper: _Helper = field(default_factory=_Helper, compare=False, repr=False)

    def command(self, target: str, prefix: str, args: Mapping[str, Arg], *, action: str, timeout: int = 120) -> str:
        """Run the mon (target "mon") or mgr ("mgr") command `prefix` with `args` on the held connection;
        its output, or CephCommandError carrying the errno."""
        cmd = {"prefix": prefix, **{k: v for k, v in args.items() if v is not None}}
        reply = self._helper.ask(self, {"target": target, "cmd": cmd, "timeout": timeout}, action)
        ret = int(str(reply.get("ret", -5)))
        if ret != 0:
            detail = str(reply.get("err") or reply.get("out") or "").strip().replace("\n", " | ")
            shown = " ".join(f"{k}={v}" for k, v in cmd.items() if k != "prefix")
            raise CephCommandError(f"{action} failed: `{prefix} {shown}` returned {-ret} "
                                   f"({os.strerror(-ret) if ret < 0 else ret}): {detail[-500:]}", -ret, detail)
        return str(reply.get("out", ""))

    def mgr(self, prefix: str, *, action: str, **args: Arg) -> str:
        return self.command("mgr", prefix, args, action=action)

    def mon(self, prefix: str, *, action: str, **args: Arg) -> str:
        return self.command("mon", prefix, args, action=action)

    def close(self) -> None:
        """Stop the command helper (it is started again by the next command)."""
        self._helper.stop()

    def _identity(self) -> list[str]:
        args = ["-c", str(self.conf), "--id", self.client_id]
        if self.keyring is not None:
            args += ["--keyring", str(self.keyring)]
        return args

    def run(self, *args: str, action: str, timeout: float = 120.0) -> str:
        """Run `ceph <args>` (for what the helper cannot send: `tell`); its stdout, or CephCommandError
        carrying the errno."""
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
        tagged = [f"--client_metadata={OWNER_KEY}={self.tag}"] if self.tag else []
        argv = ["ceph-fuse", *self._identity(), f"--client_fs={fs_name}", *tagged, "-r", root,
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


def mount_tag(mountpoint: Path) -> str | None:
    """The `lockstep_owner` tag the ceph-fuse serving `mountpoint` was started with (read from its command
    line, found by the pid file next to the mount point); None if untagged or not found."""
    pid = _pid_of(mountpoint)
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if pid else []
    except OSError:
        return None
    flag = f"--client_metadata={OWNER_KEY}=".encode()
    return next((arg[len(flag):].decode() for arg in argv if arg.startswith(flag)), None)


def evicted(mountpoint: Path) -> bool:
    """Whether the mount at `mountpoint` was evicted by the MDS: still mounted, its ceph-fuse alive, and
    every lookup answering an error (a blocklisted client). Not the same as a ceph-fuse that died (its
    process is gone) or a mount point another process unmounted (not in the mount table)."""
    pid = _pid_of(mountpoint)
    return _in_mount_table(mountpoint) and not mounted(mountpoint) and pid is not None and _alive(pid)


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
