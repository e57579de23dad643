"""A btrfs filesystem in a sparse image file, attached to a loop device and mounted at a directory.

Used by the service's embedded default backend (``make run`` as root keeps a btrfs image in the
data directory) and by the driver tests. Needs root, ``mkfs.btrfs`` (btrfs-progs), ``losetup`` and
``mount`` (util-linux), btrfs in the kernel and ``/dev/loop-control``.

API:

- ``btrfs_available() -> (bool, reason)``: can this process make and mount a btrfs image?
- ``ensure_btrfs_image(image_path, mount_dir, size_bytes) -> bool``: make sure the image exists,
  holds btrfs, and is mounted at mount_dir. Reuses what is already there (an image mounted at the
  directory, an image attached to a loop device but not mounted). Returns True when this call
  mounted it (the caller owns the mount and should ``release()`` it), False when it was already
  mounted there.
- ``release(mount_dir) -> None``: unmount and detach the loop device. Idempotent.
- ``mount_source(mount_dir) -> str | None``, ``loop_devices_for(image_path) -> list[str]``,
  ``create_sparse_image(image_path, size_bytes)``: the building blocks.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lockstep.adapters.drivers._support import INSTALL_HINT, TMP_PREFIX, run
from lockstep.service.storage import DriverError

MIN_BTRFS_IMAGE_BYTES = 256 * 1024 * 1024


def btrfs_available() -> tuple[bool, str]:
    """Whether a loop-mounted btrfs image can be used here, and why not if it cannot."""
    if os.geteuid() != 0:
        return False, "needs root (loop devices and mount)"
    for tool in ("mkfs.btrfs", "btrfs", "losetup", "mount", "umount"):
        if shutil.which(tool) is None:
            return False, f"{tool} not found; {INSTALL_HINT}"
    try:
        filesystems = Path("/proc/filesystems").read_text(encoding="utf-8")
    except OSError as exc:
        return False, f"cannot read /proc/filesystems: {exc}"
    if not any(line.split()[-1:] == ["btrfs"] for line in filesystems.splitlines()):
        # The module may just not be loaded yet.
        if shutil.which("modprobe"):
            run(["modprobe", "btrfs"], action="load the btrfs module", check=False)
        filesystems = Path("/proc/filesystems").read_text(encoding="utf-8")
        if not any(line.split()[-1:] == ["btrfs"] for line in filesystems.splitlines()):
            return False, "the kernel has no btrfs support (not in /proc/filesystems)"
    if not Path("/dev/loop-control").exists():
        return False, "/dev/loop-control is missing (no loop device support)"
    return True, "ok"


def _unescape_mountinfo(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as \ooo octal.
    out: list[str] = []
    i = 0
    while i < len(field):
        octal = field[i + 1 : i + 4]
        if field[i] == "\\" and len(octal) == 3 and octal.isdigit():
            out.append(chr(int(octal, 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, filesystem type, source) of every mount, in mount order."""
    result: list[tuple[str, str, str]] = []
    with open("/proc/self/mountinfo", encoding="utf-8") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rfields = right.split()
            if len(fields) < 5 or len(rfields) < 2:
                continue
            result.append((_unescape_mountinfo(fields[4]), rfields[0], _unescape_mountinfo(rfields[1])))
    return result


def mount_source(mount_dir: str | os.PathLike[str]) -> str | None:
    """The device mounted at exactly `mount_dir` (the topmost mount), or None."""
    target = os.path.realpath(mount_dir)
    source = None
    for point, _fstype, src in _mounts():
        if point == target:
            source = src
    return source


def loop_devices_for(image_path: str | os.PathLike[str]) -> list[str]:
    """Loop devices backed by `image_path`."""
    image = os.path.realpath(image_path)
    if not os.path.exists(image):
        return []
    proc = run(["losetup", "--noheadings", "--output", "NAME", "-j", image], action=f"find loop devices of {image}")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def create_sparse_image(image_path: str | os.PathLike[str], size_bytes: int) -> None:
    """Create a sparse file of `size_bytes` (fails if it exists)."""
    with open(image_path, "xb") as fh:
        fh.truncate(size_bytes)
        fh.flush()
        os.fsync(fh.fileno())


def _detach(device: str) -> None:
    proc = run(["losetup", "-d", device], action=f"detach loop device {device}", check=False)
    if proc.returncode != 0 and "No such device" not in proc.stderr and "No such file" not in proc.stderr:
        raise DriverError(
            f"detaching loop device {device} failed: {proc.stderr.strip()}; "
            "check that nothing still uses it (mount, lsof) and run `losetup -d` by hand"
        )


def ensure_btrfs_image(image_path: str | os.PathLike[str], mount_dir: str | os.PathLike[str], size_bytes: int) -> bool:
    """Make sure a btrfs image exists at `image_path` and is mounted at `mount_dir`.

    Returns True when this call mounted it, False when it was already mounted there.
    """
    ok, reason = btrfs_available()
    if not ok:
        raise DriverError(f"cannot use a btrfs image: {reason}")
    if size_bytes < MIN_BTRFS_IMAGE_BYTES:
        raise DriverError(f"a btrfs image needs at least {MIN_BTRFS_IMAGE_BYTES} bytes, got {size_bytes}")
    image = os.path.realpath(image_path)
    mount_point = os.path.realpath(mount_dir)
    os.makedirs(mount_point, exist_ok=True)

    source = mount_source(mount_point)
    if source is not None:
        if source in loop_devices_for(image):
            return False
        raise DriverError(
            f"{mount_point} is already mounted from {source}, not from the image {image}; "
            "unmount it or choose another directory"
        )

    if not os.path.exists(image):
        # Build the filesystem under a temp name so that a crash never leaves a half-made image
        # that the next start would try to mount.
        os.makedirs(os.path.dirname(image), exist_ok=True)
        tmp = os.path.join(os.path.dirname(image), f"{TMP_PREFIX}{os.path.basename(image)}")
        if os.path.exists(tmp):
            for device in loop_devices_for(tmp):
                _detach(device)
            os.unlink(tmp)
        create_sparse_image(tmp, size_bytes)
        run(
            ["mkfs.btrfs", "--quiet", "--force", tmp],
            action=f"make a btrfs filesystem in {tmp}",
            hint=f"check free space in {os.path.dirname(image)}; {INSTALL_HINT}",
        )
        os.rename(tmp, image)

    existing = loop_devices_for(image)
    # A loop device that mount(8) attaches itself (`-o loop`) has autoclear set: the kernel frees it
    # at the unmount, so a stop (or an unmount by hand) never leaves a loop device behind.
    device = existing[0] if existing else image
    options = [] if existing else ["-o", "loop"]
    proc = run(["mount", "-t", "btrfs", *options, device, mount_point], action=f"mount {device} at {mount_point}",
               check=False)
    if proc.returncode != 0:
        for attached in loop_devices_for(image):
            _detach(attached)
        raise DriverError(
            f"mounting {image} at {mount_point} failed: {proc.stderr.strip()}; "
            "check dmesg; if the image is damaged, move it away (a new one is made on the next start)"
        )
    return True


def release(mount_dir: str | os.PathLike[str]) -> None:
    """Unmount `mount_dir` and detach the loop device that backed it. Idempotent."""
    mount_point = os.path.realpath(mount_dir)
    source = mount_source(mount_point)
    if source is None:
        return
    run(
        ["umount", mount_point],
        action=f"unmount {mount_point}",
        hint="something still uses the filesystem; find it with `fuser -vm` and retry",
    )
    if source.startswith("/dev/loop") and mount_source(mount_point) is None:
        # Another mount of the same device (bind mount) keeps it busy; only detach when unused.
        if not any(src == source for _point, _fstype, src in _mounts()):
            _detach(source)
