"""The NFS-Ganesha process: started and supervised by Lockstep, or an operator's that Lockstep reloads.

`GaneshaServer.apply(exports)` writes the whole configuration atomically (a temporary file renamed
over the old one) and then makes the server read it: SIGHUP to a running Ganesha (it re-reads its
EXPORT blocks), or a start when none runs. rpcbind must run before Ganesha (NFSv3's MOUNT protocol
registers with it); Lockstep starts one when none answers.

`wrap` prefixes every command Lockstep runs (tests put `nsenter --net=... --mount=...` there to run
the server in namespaces they made); with no `nsenter --pid` the pid Lockstep signals is the real one.

Where Ganesha cannot run (not root, packages missing) `availability()` says why in one line.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lockstep.adapters.nfs.ganesha_conf import ServerSettings, render
from lockstep.domain.exports import Export
from lockstep.service.storage import DriverError

log = logging.getLogger("lockstep.nfs")

READY_LINE = "NFS SERVER INITIALIZED"
RELOADED_LINE = "Reread exports complete"  # logged at NIV_EVENT once a SIGHUP's new export list is served
#: Logged (CRIT) for each EXPORT block Ganesha read and could not serve, with its pseudo path first.
REFUSED_EXPORT = re.compile(r"Could not create export for \((?P<pseudo>[^)]*)\)")
FSAL_VFS_GLOB = "/usr/lib/*/ganesha/libfsalvfs.so"
PACKAGES = "nfs-ganesha nfs-ganesha-vfs rpcbind"


class GaneshaError(DriverError):
    """Ganesha could not be started or reloaded; the message says why and what to do."""


@dataclass(frozen=True)
class GaneshaSettings:
    server: ServerSettings
    wrap: tuple[str, ...] = ()  # a command prefix for every process (namespaces in tests)
    ganesha_binary: str = "ganesha.nfsd"
    rpcbind_binary: str = "rpcbind"
    rpcinfo_binary: str = "rpcinfo"
    #: An operator's Ganesha: Lockstep writes `config_path` and signals the pid in this file; it
    #: starts nothing. The operator's Ganesha must read `config_path` (its `-f`).
    attach_pidfile: Path | None = None
    start_timeout: float = 20.0
    log_level: str = "NIV_EVENT"

    @property
    def state_dir(self) -> Path:
        return self.server.state_dir

    @property
    def config_path(self) -> Path:
        return self.state_dir / "ganesha.conf"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "ganesha.log"

    @property
    def pid_path(self) -> Path:
        return self.state_dir / "ganesha.pid"

    @property
    def rpcbind_pid_path(self) -> Path:
        """The rpcbind Lockstep started (none if one already answered): a later process stops it at its clean
        stop even when the one that started it was killed."""
        return self.state_dir / "rpcbind.pid"


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str | None = None  # one line for the pool's capabilities and the rule's user message


def _which(binary: str) -> str | None:
    return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/sbin")


@dataclass
class GaneshaServer:
    settings: GaneshaSettings
    _ganesha: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _rpcbind: subprocess.Popen[bytes] | None = field(default=None, init=False)
    restarts: int = field(default=0, init=False)
    _told: bool = field(default=False, init=False)  # this process made the running Ganesha read the file
    _refused: set[str] = field(default_factory=set, init=False)  # pseudo paths the last reload refused

    # What can run ---------------------------------------------------------------------------------
    def availability(self) -> Availability:
        if self.settings.attach_pidfile is not None:
            return Availability(True)
        if os.geteuid() != 0:
            return Availability(False, "NFS exports need Lockstep's worker to run as root (it runs NFS-Ganesha).")
        missing = [b for b in (self.settings.ganesha_binary, self.settings.rpcbind_binary) if _which(b) is None]
        if missing or not glob.glob(FSAL_VFS_GLOB):
            return Availability(False, f"NFS-Ganesha is not installed ({', '.join(missing) or 'FSAL VFS'} missing); "
                                       f"run `apt-get install {PACKAGES}` or scripts/install-system-deps.sh.")
        return Availability(True)

    # Configuration --------------------------------------------------------------------------------
    def write_config(self, exports: Iterable[Export]) -> bool:
        """Write the configuration atomically; True if it changed."""
        server = self.settings.server
        text = render(exports, server)
        for directory in (server.state_dir, server.placeholder_dir, server.recovery_dir):
            directory.mkdir(parents=True, exist_ok=True)
        path = self.settings.config_path
        if path.exists() and path.read_text() == text:
            return False
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        return True

    def apply(self, exports: Iterable[Export]) -> set[str]:
        """Make the running server serve exactly these exports (starting it if none runs). Returns the
        pseudo paths of the exports Ganesha read and refused to serve (its log says why)."""
        exports = list(exports)
        binds = self._bind(exports)
        changed = self.write_config(exports)
        log_path = self.settings.log_path
        offset = log_path.stat().st_size if log_path.exists() else 0
        pid = self.pid()
        told = True
        if pid is None:
            self.start()
        elif changed or not self._told:
            # The first apply of this process signals even an unchanged file: an earlier process may
            # have died between writing it and telling Ganesha.
            self._reload(pid)
        else:
            told = False
        self._told = True
        self._unbind(binds)
        if not told:
            return set(self._refused)
        self._refused = {m.group("pseudo") for m in REFUSED_EXPORT.finditer(_read_from(log_path, offset))}
        return set(self._refused)

    # btrfs subvolumes -------------------------------------------------------------------------------
    # Ganesha's VFS FSAL finds the file system of an export path among the mounts it sees; a btrfs
    # subvolume (a btrfs share, snapshot or cut) is not one, and Debian's Ganesha is built without
    # libbtrfsutil, which would list them: it refuses such a path ("resolve_posix_filesystem ... No such
    # file or directory"). A bind mount of the path onto itself, in Ganesha's mount namespace, makes it
    # one. Lockstep keeps the list of the bind mounts it made (`binds`), makes them before Ganesha reads
    # an export and removes them once Ganesha no longer serves it (before the storage is deleted).
    @property
    def _binds_path(self) -> Path:
        return self.settings.state_dir / "binds"

    def _recorded_binds(self) -> set[str]:
        try:
            return {line for line in self._binds_path.read_text().splitlines() if line}
        except OSError:
            return set()

    def _record_binds(self, paths: set[str]) -> None:
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self._binds_path.with_name(f".binds.{os.getpid()}.tmp")
        tmp.write_text("".join(f"{p}\n" for p in sorted(paths)))
        os.replace(tmp, self._binds_path)

    def _mount_points(self) -> set[str]:
        """The mount points Ganesha's mount namespace has."""
        done = self._run([*self.settings.wrap, "cat", "/proc/self/mounts"], "read the mount table")
        return {_unescape(line.split()[1]) for line in done.splitlines() if len(line.split()) > 2}

    def _bind(self, exports: list[Export]) -> set[str]:
        """Bind-mount the btrfs export paths that are not mount points yet; returns the paths now wanted."""
        wanted = {e.path for e in exports if _fs_type(e.path) == "btrfs"}
        recorded = self._recorded_binds()
        if not wanted and not recorded:
            return wanted
        mounted = self._mount_points()
        self._record_binds(recorded | wanted)  # before mounting: a crash leaves no bind unrecorded
        for path in sorted(wanted - mounted):
            try:
                self._run([*self.settings.wrap, "mount", "--bind", path, path], f"bind-mount {path} for NFS-Ganesha")
            except GaneshaError as exc:  # that export alone fails: Ganesha refuses it, the others are served
                log.warning("%s", exc)
        return wanted

    def _unbind(self, wanted: set[str]) -> None:
        """Detach the bind mounts of exports Ganesha no longer serves (so that their storage can go)."""
        stale = self._recorded_binds() - wanted
        if not stale:
            return
        mounted = self._mount_points()
        kept = set()
        for path in sorted(stale & mounted):
            try:
                self._run([*self.settings.wrap, "umount", "-l", path], f"detach the bind mount {path}")
            except GaneshaError as exc:  # tried again at the next apply; deleting that storage waits
                log.warning("%s", exc)
                kept.add(path)
        self._record_binds(wanted | kept)

    @staticmethod
    def _run(command: list[str], what: str) -> str:
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GaneshaError(f"could not {what}: {exc}") from exc
        if done.returncode != 0:
            raise GaneshaError(f"could not {what}: {done.stderr.strip() or done.returncode}")
        return done.stdout

    def _reload(self, pid: int) -> None:
        """SIGHUP, then wait until Ganesha says it serves the new export list: a rule is reported active only
        once a client would see it. (An operator's Ganesha logs where its operator says: not waited for.)"""
        log_path = self.settings.log_path
        offset = log_path.stat().st_size if log_path.exists() else 0
        os.kill(pid, signal.SIGHUP)
        if self.settings.attach_pidfile is not None:
            return
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if RELOADED_LINE in _read_from(log_path, offset):
                return
            if self.pid() != pid:
                raise GaneshaError(f"NFS-Ganesha (pid {pid}) exited while reloading its exports: "
                                   f"{_last_error(log_path, offset)}; see {log_path}")
            time.sleep(0.01)
        raise GaneshaError(f"NFS-Ganesha did not reload its exports within {self.settings.start_timeout:.0f} s; "
                           f"see {log_path}")

    # The process ----------------------------------------------------------------------------------
    def pid(self) -> int | None:
        """The pid of the running Ganesha, or None."""
        if self.settings.attach_pidfile is not None:
            return _live_pid_in(self.settings.attach_pidfile)
        if self._ganesha is not None and self._ganesha.poll() is None:
            return self._ganesha.pid
        return self._adopted()

    def _adopted(self) -> int | None:
        """A Ganesha an earlier Lockstep process started with this configuration (it outlives the worker,
        so that clients keep their mounts): signalled and supervised like one of ours."""
        pid = _live_pid_in(self.settings.pid_path)
        if pid is None:
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return None
        return pid if str(self.settings.config_path).encode() in cmdline else None

    def ensure_running(self) -> bool:
        """Supervision: start Ganesha again from the configuration on disk if it died. True if it had to."""
        if self.pid() is not None or not self.settings.config_path.exists():
            return False
        log.warning("NFS-Ganesha is not running (exit status %s); starting it again",
                    None if self._ganesha is None else self._ganesha.returncode)
        self.start()
        self.restarts += 1
        return True

    def start(self) -> None:
        if self.settings.attach_pidfile is not None:
            raise GaneshaError(f"the operator's NFS-Ganesha (pid file {self.settings.attach_pidfile}) is not "
                               "running; start it, it reads " + str(self.settings.config_path))
        available = self.availability()
        if not available.ok:
            raise GaneshaError(str(available.reason))
        if not self.settings.config_path.exists():
            raise GaneshaError("no configuration written yet (apply the exports first)")
        self._ensure_rpcbind()
        log_path = self.settings.log_path
        offset = log_path.stat().st_size if log_path.exists() else 0
        self.settings.pid_path.unlink(missing_ok=True)  # Ganesha writes its pid there once it runs
        command = [*self.settings.wrap, self.settings.ganesha_binary, "-F", "-f", str(self.settings.config_path),
                   "-L", str(log_path), "-p", str(self.settings.pid_path), "-N", self.settings.log_level]
        self._ganesha = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        self._wait_ready(log_path, offset)

    def _wait_ready(self, log_path: Path, offset: int) -> None:
        assert self._ganesha is not None
        deadline = time.monotonic() + self.settings.start_timeout
        while time.monotonic() < deadline:
            if self._ganesha.poll() is not None:
                raise GaneshaError(f"NFS-Ganesha exited at start (status {self._ganesha.returncode}): "
                                   f"{_last_error(log_path, offset)}; see {log_path}")
            if READY_LINE in _read_from(log_path, offset):
                return
            time.sleep(0.05)
        self.stop()
        raise GaneshaError(f"NFS-Ganesha did not start within {self.settings.start_timeout:.0f} s; see {log_path}")

    def _rpcbind_answers(self) -> bool:
        command = [*self.settings.wrap, self.settings.rpcinfo_binary, "-p", "127.0.0.1"]
        try:
            return subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def _ensure_rpcbind(self) -> None:
        if self._rpcbind_answers():
            return
        if self._rpcbind is not None and self._rpcbind.poll() is None:
            self._rpcbind.kill()
            self._rpcbind.wait()
        command = [*self.settings.wrap, self.settings.rpcbind_binary, "-w", "-f"]
        self._rpcbind = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, start_new_session=True)
        self.settings.state_dir.mkdir(parents=True, exist_ok=True)
        self.settings.rpcbind_pid_path.write_text(f"{self._rpcbind.pid}\n")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._rpcbind_answers():
                return
            if self._rpcbind.poll() is not None:
                err = self._rpcbind.stderr.read().decode(errors="replace").strip() if self._rpcbind.stderr else ""
                raise GaneshaError(f"rpcbind exited at start ({err or self._rpcbind.returncode}); NFS needs it: "
                                   "start it (systemctl start rpcbind) or free its port 111")
            time.sleep(0.05)
        raise GaneshaError("rpcbind did not answer within 10 s; NFS needs it (systemctl start rpcbind)")

    def stop(self) -> None:
        """Stop what Lockstep started (an operator's Ganesha is left alone), also when an earlier Lockstep
        process started it and was killed."""
        adopted = None if self._ganesha is not None or self.settings.attach_pidfile else self._adopted()
        if adopted is not None:
            _terminate(adopted)
        for proc in (self._ganesha, self._rpcbind):
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for proc in (self._ganesha, self._rpcbind):
            if proc is not None and proc.stderr is not None:
                proc.stderr.close()
        rpcbind = self._adopted_rpcbind()
        if rpcbind is not None:
            _terminate(rpcbind)
        self.settings.rpcbind_pid_path.unlink(missing_ok=True)
        self._ganesha = self._rpcbind = None

    def _adopted_rpcbind(self) -> int | None:
        """The rpcbind an earlier Lockstep process started (checked against its command line: pids are reused)."""
        if self.settings.attach_pidfile is not None:
            return None
        pid = _live_pid_in(self.settings.rpcbind_pid_path)
        if pid is None:
            return None
        try:
            program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            return None
        return pid if Path(program.decode(errors="replace")).name == Path(self.settings.rpcbind_binary).name else None

    def close(self) -> None:
        """A clean stop of the worker. Lockstep's own Ganesha (started or adopted) stops, with the rpcbind
        Lockstep started, and every recorded bind mount is detached, so that the file system under the
        exports can be unmounted (clients lose their mounts until the next start). An operator's Ganesha
        keeps serving, so its bind mounts stay, and the log says in one line what that keeps mounted."""
        if self.settings.attach_pidfile is not None:
            binds = self._recorded_binds()
            if binds:
                log.warning("the operator's NFS-Ganesha (pid file %s) still exports %d btrfs path(s) through bind "
                            "mounts, so their file system stays mounted after this stop: to unmount it, stop that "
                            "Ganesha and `umount` each path listed in %s (or deny their rules before stopping)",
                            self.settings.attach_pidfile, len(binds), self._binds_path)
            return
        self.stop()
        self._unbind(set())

def _terminate(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _live_pid_in(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def _unescape(field: str) -> str:
    """A path as /proc/mounts writes it (space, tab, newline and backslash octal-escaped)."""
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def _fs_type(path: str) -> str | None:
    """The file system type of the mount that holds `path` (in this process's namespace)."""
    real = os.path.realpath(path)
    best, found = "", None
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                point = _unescape(parts[1])
                inside = real == point or real.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, found = point, parts[2]
    except OSError:
        return None
    return found


def _read_from(path: Path, offset: int) -> str:
    try:
        with open(path, errors="replace") as f:
            f.seek(offset)
            return f.read()
    except OSError:
        return ""


def _last_error(path: Path, offset: int) -> str:
    lines = [line for line in _read_from(path, offset).splitlines() if ":CRIT :" in line or ":FATAL :" in line
             or ":MAJ :" in line]
    return lines[-1].rsplit(" :", 1)[-1].strip() if lines else "no error in its log"

