"""Small helpers shared by the filesystem drivers (posix, btrfs, zfs) and loopfs.

Everything here is synchronous and raises :class:`DriverError` with a message that says what failed
and what an operator can do about it.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lockstep.service.storage import DriverError, ShareDoesNotFit

GIB = 1024**3

#: Prefixes of the names of work-in-progress and being-deleted objects. Ids never start with a dot,
#: so these names can never collide with a real object and are never reported by inventory().
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$")

OBJECT_KINDS = ("share", "snapshot", "group", "cgsnapshot")

INSTALL_HINT = "install the system packages with scripts/install-system-deps.sh"


def check_id(object_id: str, what: str = "object") -> str:
    """Ids become file and dataset names: refuse anything that could escape the layout."""
    if not _ID_RE.match(object_id) or ".." in object_id:
        raise DriverError(f"{what} id {object_id!r} is not usable as a storage name (letters, digits, '-_.:')")
    return object_id


def check_kind(kind: str) -> None:
    if kind not in OBJECT_KINDS:
        raise ValueError(f"unknown storage object kind {kind!r}; expected one of {', '.join(OBJECT_KINDS)}")


def run(
    args: Sequence[str],
    *,
    action: str,
    hint: str = "",
    timeout: float = 600.0,
    check: bool = True,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command (argument list, never a shell); raise DriverError when it fails.

    `action` says what we were trying to do ("create subvolume /x"), `hint` what to do next.
    With check=False the completed process is returned whatever its exit status.
    """
    argv = [str(a) for a in args]
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
        )
    except FileNotFoundError as exc:
        raise DriverError(f"{action} failed: command {argv[0]!r} not found; {INSTALL_HINT}") from exc
    except subprocess.TimeoutExpired as exc:
        raise DriverError(
            f"{action} failed: `{' '.join(argv)}` did not finish within {timeout:g}s; "
            f"check the backend's health (dmesg, daemon logs) and retry. {hint}".rstrip()
        ) from exc
    if check and proc.returncode != 0:
        raise command_error(action, argv, proc, hint)
    return proc


def command_error(
    action: str, argv: Sequence[str], proc: subprocess.CompletedProcess[str], hint: str = ""
) -> DriverError:
    detail = (proc.stderr or proc.stdout or "").strip().replace("\n", " | ")
    message = f"{action} failed: `{' '.join(argv)}` exited {proc.returncode}: {detail or 'no output'}."
    if hint:
        message += f" {hint}"
    return DriverError(message)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_libc: ctypes.CDLL | None = None


def syncfs(path: Path) -> None:
    """Flush every dirty page of the filesystem holding `path` (syncfs(2)); best effort."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise DriverError(f"syncfs({path}) failed: {os.strerror(err)}; check the filesystem's health")
    finally:
        os.close(fd)


def write_json_atomic(path: Path, data: object) -> None:
    """Write `data` as JSON to `path` so that readers see either the old or the new file."""
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_json(path: Path) -> object:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DriverError(f"cannot read {path}: {exc}; fix or remove the file and retry") from exc


def copy_tree(src: Path, dst: Path, *, reflink: str = "auto") -> None:
    """Copy directory `src` to the new path `dst` (which must not exist) with `cp -a`.

    reflink="auto" shares blocks when the filesystem can (btrfs, xfs) and copies otherwise;
    reflink="always" fails instead of copying.
    """
    run(
        ["cp", "-a", "--no-target-directory", f"--reflink={reflink}", str(src), str(dst)],
        action=f"copy {src} to {dst}",
        hint="check free space and that the source is readable; the operation can be retried",
    )


def copy_contents(src: Path, dst: Path, *, reflink: str = "auto") -> None:
    """Copy what is inside directory `src` into the existing directory `dst`."""
    run(
        ["cp", "-a", f"--reflink={reflink}", f"{src}/.", f"{dst}/"],
        action=f"copy the contents of {src} into {dst}",
        hint="check free space and that the source is readable; the operation can be retried",
    )


def remove_tree(path: Path) -> None:
    """Remove a directory tree (or file); a missing path is fine."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return

    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        return  # removed concurrently
    except OSError as exc:
        raise DriverError(f"cannot remove {path}: {exc}; fix permissions or unmount what is inside, retry") from exc


def discard_tree(path: Path) -> None:
    """Remove a tree so that it stops being visible at once: rename it to a trash name, then delete.

    A crash in the middle leaves `.trash-<name>` next to it; the next call removes that first.
    """
    trash = path.with_name(f"{TRASH_PREFIX}{path.name}")
    remove_tree(trash)
    try:
        os.rename(path, trash)
    except FileNotFoundError:
        return
    fsync_dir(path.parent)
    remove_tree(trash)


def tree_usage_bytes(path: Path) -> int:
    """Bytes allocated by the files under `path` (what `du -s` reports)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            total += st.st_blocks * 512
    return total


def list_ids(directory: Path) -> set[str]:
    """Names of the entries of `directory` that are object ids (not temp or trash leftovers)."""
    try:
        return {e.name for e in os.scandir(directory) if not e.name.startswith(".") and e.is_dir()}
    except FileNotFoundError:
        return set()


def leftover_ids(directory: Path, prefixes: Sequence[str] = (TMP_PREFIX, TRASH_PREFIX)) -> set[str]:
    """Ids named by the temp and trash entries of `directory`: what a crash mid-create or mid-delete
    leaves. `prefixes` longest first where one begins another."""
    try:
        names = [e.name for e in os.scandir(directory)]
    except FileNotFoundError:
        return set()
    found = set()
    for name in names:
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix is not None and name[len(prefix):]:
            found.add(name[len(prefix):])
    return found


def leftover_paths(directory: Path, object_id: str,
                   prefixes: Sequence[str] = (TMP_PREFIX, TRASH_PREFIX)) -> list[Path]:
    """The temp and trash entries of `directory` that belong to the object `object_id`."""
    check_id(object_id)
    return [path for path in (directory / f"{p}{object_id}" for p in prefixes) if os.path.lexists(path)]


def remove_leftover(path: Path) -> None:
    """Remove a leftover entry, a tree or a single file."""
    if path.is_dir() and not path.is_symlink():
        remove_tree(path)
    else:
        path.unlink(missing_ok=True)


def statvfs_gb(path: Path) -> tuple[float, float]:
    """(total, free) GiB of the filesystem holding `path`; free is what an unprivileged user may use."""
    st = os.statvfs(path)
    return st.f_blocks * st.f_frsize / GIB, st.f_bavail * st.f_frsize / GIB


def retry(
    func_args: Sequence[str],
    *,
    action: str,
    hint: str,
    transient: Sequence[str],
    attempts: int = 10,
    first_delay: float = 0.2,
    max_delay: float = 2.0,
    ok_if: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run a command, retrying with exponential backoff while stderr contains a `transient` marker.

    A failure whose stderr contains one of `ok_if` counts as success (e.g. "does not exist").
    """
    delay = first_delay
    proc: subprocess.CompletedProcess[str] | None = None
    for attempt in range(attempts):
        proc = run(func_args, action=action, hint=hint, check=False)
        if proc.returncode == 0:
            return proc
        err = (proc.stderr or "") + (proc.stdout or "")
        if any(marker in err for marker in ok_if):
            return proc
        if not any(marker in err for marker in transient) or attempt == attempts - 1:
            break
        time.sleep(delay)
        delay = min(delay * 2, max_delay)
    assert proc is not None
    raise command_error(action, [str(a) for a in func_args], proc, hint)


def require_fit(what: str, needed_gb: int, free_gb: Callable[[], float], pool: str) -> None:
    """Refuse (ShareDoesNotFit) a size or growth beyond the pool's free space; `free_gb` is only
    asked when something must fit, since reading capacity can be a command or a filesystem walk."""
    if needed_gb <= 0:
        return
    free = free_gb()
    if needed_gb > free:
        raise ShareDoesNotFit(f"{what} needs {needed_gb} GiB; pool {pool} has {free:.2f} GiB free")


def refuse_shrink_below_usage(share_id: str, used_bytes: int, new_size_gb: int) -> None:
    """Shrinking never cuts off data: refuse when what the share holds exceeds the new size."""
    if used_bytes > new_size_gb * GIB:
        raise DriverError(
            f"share {share_id} holds {used_bytes / GIB:.2f} GiB of data, more than the new size {new_size_gb} GiB; "
            "remove data from the share first or choose a bigger size"
        )

