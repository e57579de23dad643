"""The one place that names concrete classes: builds drivers, services, the app and the worker."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from sqlalchemy import Engine

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.drivers.base import ShareDriver
from lockstep.api.app import LockstepApp
from lockstep.api.auth import Keystone, NoAuth
from lockstep.api.routes import register_all
from lockstep.api.routing import Router
from lockstep.config import BackendConfig, Settings
from lockstep.service.cgsnapshots import CGSnapshotService
from lockstep.service.consistency_groups import ConsistencyGroupService
from lockstep.service.listing import ListingService
from lockstep.service.policy import Policy
from lockstep.service.scheduler import Scheduler
from lockstep.service.services import Services
from lockstep.service.share_networks import ShareNetworkService
from lockstep.service.share_types import ShareTypeService
from lockstep.service.shares import ShareService
from lockstep.service.snapshots import SnapshotService
from lockstep.service.unit_of_work import Database
from lockstep.service.worker import Worker

log = logging.getLogger("lockstep")


def build_services(settings: Settings, engine: Engine) -> Services:
    db = Database(engine)
    policy = Policy(settings.policy_file)
    scheduler = Scheduler()
    types = ShareTypeService(db, settings.default_share_type)
    return Services(
        db=db, policy=policy, scheduler=scheduler, types=types,
        networks=ShareNetworkService(db, policy),
        shares=ShareService(db, policy, types, scheduler),
        snapshots=SnapshotService(db, policy),
        listing=ListingService(db, policy),
        groups=ConsistencyGroupService(db, types, scheduler, settings.require_atomic_cgsnapshots),
        cgsnapshots=CGSnapshotService(db),
        availability_zone=settings.availability_zone,
        availability_zone_id=str(uuid.uuid5(uuid.NAMESPACE_DNS, f"lockstep-az-{settings.availability_zone}")),
    )


def build_app(settings: Settings, services: Services) -> LockstepApp:
    router = Router(services.policy)
    register_all(router, services)
    auth: NoAuth | Keystone
    if settings.auth == "keystone":
        auth = Keystone(services.policy, settings.keystone)
    else:
        auth = NoAuth(services.policy, settings.admin_users)
    return LockstepApp(router, auth, max_limit=settings.max_limit, base_url=settings.base_url)


def make_driver(settings: Settings, backend: BackendConfig) -> ShareDriver:
    """Driver by name; `auto` is btrfs in a loop-mounted image when possible, else posix."""
    kind = backend.driver
    options = dict(backend.options)
    root = Path(options.get("path") or settings.data_dir / "backends" / backend.name)
    if kind == "auto":
        kind = _auto_driver(settings, backend, root, options)
    if kind == "fake":
        from lockstep.adapters.drivers.fake import FakeDriver

        return FakeDriver(options)
    if kind == "posix":
        from lockstep.adapters.drivers.posix import PosixDriver

        options.setdefault("path", str(root))
        return PosixDriver(options)
    if kind == "btrfs":
        from lockstep.adapters.drivers.btrfs import BtrfsDriver

        options.setdefault("path", str(root))
        return BtrfsDriver(options)
    if kind == "zfs":
        from lockstep.adapters.drivers.zfs import ZfsDriver

        return ZfsDriver(options)
    raise ValueError(f"backend {backend.name}: unknown driver {kind!r} (auto, btrfs, posix, zfs, fake)")


def _auto_driver(settings: Settings, backend: BackendConfig, root: Path, options: dict[str, str]) -> str:
    from lockstep.adapters.drivers import loopfs

    probe = root
    while not probe.exists():
        probe = probe.parent
    if _filesystem_type(probe) == "btrfs":
        log.info("backend %s: %s is on btrfs already; serving from it", backend.name, probe)
        return "btrfs"
    ok, reason = loopfs.btrfs_available()
    if not ok:
        log.warning("backend %s: btrfs is not usable here (%s); serving from the posix driver, whose "
                    "cgsnapshots are sequential, not atomic", backend.name, reason)
        options["fallback_reason"] = reason
        return "posix"
    size_gb = float(options.pop("image_size_gb", "20"))
    image = settings.data_dir / f"{backend.name}.btrfs.img"
    try:
        loopfs.ensure_btrfs_image(image, root, int(size_gb * 1024**3))
    except Exception as exc:  # noqa: BLE001 - fall back, loudly
        log.warning("backend %s: could not set up btrfs in %s (%s); serving from the posix driver",
                    backend.name, image, exc)
        options["fallback_reason"] = str(exc)
        return "posix"
    log.info("backend %s: btrfs image %s mounted at %s", backend.name, image, root)
    return "btrfs"


def _filesystem_type(path: Path) -> str:
    import subprocess

    proc = subprocess.run(["stat", "-f", "-c", "%T", str(path)], capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def build_drivers(settings: Settings) -> dict[str, ShareDriver]:
    drivers: dict[str, ShareDriver] = {}
    for backend in settings.backends:
        if settings.workers_only_for is not None and backend.name not in settings.workers_only_for:
            continue
        driver = make_driver(settings, backend)
        driver.setup()
        drivers[settings.backend_host(backend.name)] = driver
    return drivers


def build_worker(settings: Settings, engine: Engine, drivers: dict[str, ShareDriver]) -> Worker:
    return Worker(Database(engine), drivers, availability_zone=settings.availability_zone,
                  lease_seconds=settings.lease_seconds, poll_interval=settings.poll_interval,
                  max_attempts=settings.max_attempts, sweep_interval=settings.reclaim_interval)


def engine_for(settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url)
