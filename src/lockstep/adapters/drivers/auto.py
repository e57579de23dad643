"""The `auto` driver name: btrfs when it can be had, else posix, and the pool says why.

Order of preference for the backend's root (`path`, else `<data_dir>/backends/<name>`):

1. the root is already on btrfs: serve from it with the btrfs driver;
2. btrfs can be loop-mounted here (root, tools, loop devices): a sparse image
   `<data_dir>/<name>.btrfs.img` of `image_size_gb` (default 20) is made once and mounted at the
   root (reused on restart, also when a killed process left it mounted), and the btrfs driver serves
   from it and unmounts it when the worker stops;
3. otherwise the posix driver, with the option `fallback_reason` set so that its pool reports
   why cgsnapshots are sequential rather than atomic.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

from lockstep.adapters.drivers import loopfs
from lockstep.adapters.drivers.registry import BackendSite, build
from lockstep.service.storage import DriverError, ShareDriver

log = logging.getLogger("lockstep")

DEFAULT_IMAGE_SIZE_GB = "20"


def build_auto(site: BackendSite) -> ShareDriver:
    driver, chosen = choose(site)
    return build(driver, chosen)


def choose(site: BackendSite) -> tuple[str, BackendSite]:
    """The registered driver name to serve `site` from, and the site (options) to build it with."""
    root = site.root
    probe = root
    while not probe.exists():
        probe = probe.parent
    image = site.data_dir / f"{site.name}.btrfs.img"
    # The image still mounted by an earlier worker that was killed is this worker's to release at its stop.
    if not _image_mounted_at(image, root) and filesystem_type(probe) == "btrfs":
        log.info("backend %s: %s is on btrfs already; serving from it", site.name, probe)
        return "btrfs", site
    ok, reason = loopfs.btrfs_available()
    if not ok:
        log.warning("backend %s: btrfs is not usable here (%s); serving from the posix driver, whose "
                    "cgsnapshots are sequential, not atomic", site.name, reason)
        return "posix", site.with_options(fallback_reason=reason)
    options = dict(site.options)
    size_gb = float(options.pop("image_size_gb", DEFAULT_IMAGE_SIZE_GB))
    chosen = BackendSite(site.name, options, site.data_dir)
    try:
        mounted = loopfs.ensure_btrfs_image(image, root, int(size_gb * 1024**3))
    except Exception as exc:  # noqa: BLE001 - fall back, loudly
        log.warning("backend %s: could not set up btrfs in %s (%s); serving from the posix driver",
                    site.name, image, exc)
        return "posix", chosen.with_options(fallback_reason=str(exc))
    log.info("backend %s: btrfs image %s mounted at %s%s", site.name, image, root,
             "" if mounted else " (by an earlier process; reused)")
    # The worker that mounted the image unmounts it (and frees the loop device) when it stops.
    return "btrfs", chosen.with_options(release_on_close="true")


def _image_mounted_at(image: Path, root: Path) -> bool:
    source = loopfs.mount_source(root)
    if source is None or not image.exists():
        return False
    try:
        return source in loopfs.loop_devices_for(image)
    except DriverError:  # losetup unusable here: then this process could not have mounted it either
        return False


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding `path` as stat(1) names it ("btrfs", "ext2/ext3", ...)."""
    proc = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False)
    return proc.stdout.strip()
