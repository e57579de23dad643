"""The one place that names concrete classes: builds drivers, services, the app and the worker."""

from __future__ import annotations

import logging
import shlex
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.health import SqlDatabaseProbe
from lockstep.adapters.db.notify import WakeListener
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.adapters.drivers import registry as drivers_registry
from lockstep.adapters.nfs.ganesha import GaneshaServer, GaneshaSettings
from lockstep.adapters.nfs.ganesha_conf import ServerSettings
from lockstep.api.app import LockstepApp
from lockstep.api.auth import Keystone, NoAuth
from lockstep.api.ops import OpsEndpoints, networks
from lockstep.api.routes import register_all
from lockstep.api.routing import Router
from lockstep.config import BackendConfig, Settings
from lockstep.observability.metrics import PrometheusExporter, PrometheusTelemetry
from lockstep.service.access import AccessService
from lockstep.service.cgsnapshots import CGSnapshotService
from lockstep.service.consistency_groups import ConsistencyGroupService, Zone
from lockstep.service.defaults import ensure_default_share_group_type, ensure_default_share_type
from lockstep.service.exports import NfsExports
from lockstep.service.health import HealthService
from lockstep.service.host_services import HostServiceRegistry
from lockstep.service.listing import ListingService
from lockstep.service.messages import MessageService
from lockstep.service.metadata import MetadataService
from lockstep.service.policy import Policy
from lockstep.service.pools import PoolService
from lockstep.service.quotas import Quotas, QuotaService
from lockstep.service.recycle_bin import RecycleBinService
from lockstep.service.scheduler import Scheduler
from lockstep.service.security_services import SecurityServiceService
from lockstep.service.services import Services
from lockstep.service.share_group_types import ShareGroupTypeService
from lockstep.service.share_network_subnets import ShareNetworkSubnetService
from lockstep.service.share_networks import ShareNetworkService
from lockstep.service.share_types import ShareTypeService
from lockstep.service.shares import ShareService
from lockstep.service.snapshot_access import SnapshotAccessService
from lockstep.service.snapshots import SnapshotService
from lockstep.service.storage import ShareDriver
from lockstep.service.worker import Worker

log = logging.getLogger("lockstep")


def build_services(settings: Settings, engine: Engine, *,
                   on_enqueued: Callable[[], None] | None = None) -> Services:
    """on_enqueued: called after each commit that recorded work (wakes an in-process worker)."""
    db = SqlAlchemyDatabase(engine, on_enqueued=on_enqueued)
    policy = Policy(settings.policy_file)
    scheduler = Scheduler(settings.service_down_time)
    types = ShareTypeService(db, settings.default_share_type)
    group_types = ShareGroupTypeService(db, settings.default_share_group_type)
    zone = Zone(settings.availability_zone,
                str(uuid.uuid5(uuid.NAMESPACE_DNS, f"lockstep-az-{settings.availability_zone}")))
    quotas = Quotas(settings.quota_defaults)
    return Services(
        policy=policy, scheduler=scheduler, types=types,
        networks=ShareNetworkService(db, policy, quotas),
        shares=ShareService(db, policy, types, scheduler, quotas),
        snapshots=SnapshotService(db, policy, quotas),
        listing=ListingService(db, policy),
        groups=ConsistencyGroupService(db, types, group_types, scheduler, settings.require_atomic_cgsnapshots, zone,
                                       quotas),
        cgsnapshots=CGSnapshotService(db, quotas),
        pools=PoolService(db, scheduler),
        recycle_bin=RecycleBinService(db, policy, settings.soft_delete_retention),
        availability_zone=settings.availability_zone,
        availability_zone_id=zone.id,
        share_protocols=settings.enabled_share_protocols,
        access=AccessService(db, policy),
        group_types=group_types,
        security_services=SecurityServiceService(db, policy),
        subnets=ShareNetworkSubnetService(db),
        metadata=MetadataService(db, policy),
        messages=MessageService(db),
        quotas=QuotaService(db, quotas),
        host_services=HostServiceRegistry(db, settings.service_down_time),
        health=HealthService(db, SqlDatabaseProbe(engine), settings.service_down_time,
                             nfs_managed=settings.nfs != "off"),
        snapshot_access=SnapshotAccessService(db, policy),
    )


def build_app(settings: Settings, services: Services) -> LockstepApp:
    router = Router(services.policy)
    register_all(router, services)
    auth: NoAuth | Keystone
    if settings.auth == "keystone":
        auth = Keystone(services.policy, settings.keystone)
    else:
        auth = NoAuth(services.policy, settings.admin_users)
    endpoints = OpsEndpoints(services.health, PrometheusExporter(services.health), networks(settings.metrics_allow))
    return LockstepApp(router, auth, max_limit=settings.max_limit, base_url=settings.base_url,
                       ops_endpoints=endpoints)


def make_driver(settings: Settings, backend: BackendConfig) -> ShareDriver:
    """The driver registered under the backend's `driver` name (adapters/drivers/registry.py)."""
    site = drivers_registry.BackendSite(backend.name, backend.options, settings.data_dir)
    return drivers_registry.build(backend.driver, site)


def build_drivers(settings: Settings) -> dict[str, ShareDriver]:
    """Every configured backend's driver, set up, keyed by the `host@backend` its worker owns."""
    drivers: dict[str, ShareDriver] = {}
    for backend in settings.backends:
        driver = make_driver(settings, backend)
        driver.setup()
        drivers[settings.backend_host(backend.name)] = driver
    return drivers


def build_nfs(settings: Settings, db: SqlAlchemyDatabase) -> NfsExports | None:
    """The worker's NFS server (`nfs = "ganesha"`); None when access rules are records only."""
    if settings.nfs == "off":
        return None
    server = ServerSettings(state_dir=settings.data_dir.resolve() / "nfs", nfs_port=settings.nfs_port,
                            mount_port=settings.nfs_mount_port)
    pidfile = Path(settings.nfs_ganesha_pidfile) if settings.nfs_ganesha_pidfile else None
    ganesha = GaneshaServer(GaneshaSettings(server, wrap=tuple(shlex.split(settings.nfs_wrap)), attach_pidfile=pidfile))
    return NfsExports(db, ganesha, settings.effective_nfs_address)


def build_worker(settings: Settings, engine: Engine, drivers: dict[str, ShareDriver]) -> Worker:
    db = SqlAlchemyDatabase(engine)
    return Worker(db, drivers, availability_zone=settings.availability_zone,
                  lease_seconds=settings.lease_seconds, poll_interval=settings.poll_interval,
                  max_attempts=settings.max_attempts, sweep_interval=settings.reclaim_interval,
                  recycle_bin_interval=settings.recycle_bin_interval, message_ttl=settings.message_ttl,
                  telemetry=PrometheusTelemetry(), report_interval=settings.report_interval,
                  service_down_time=settings.service_down_time,
                  overcommit=settings.overcommit, nfs=build_nfs(settings, db))


def build_wake_listener(engine: Engine, worker: Worker) -> WakeListener | None:
    """On PostgreSQL, the worker LISTENs for work recorded anywhere (adapters/db/notify.py); on SQLite (one
    machine) `lockstep serve`'s datagram channel does that (child.py), and polling covers the rest."""
    if engine.dialect.name != "postgresql":
        return None
    return WakeListener(engine, worker.wake, worker.drivers)


def close_drivers(drivers: dict[str, ShareDriver]) -> None:
    """Release what each driver holds for this process (a loop mount); a failure is logged, not raised,
    so that one backend's busy mount does not keep the others'."""
    for name, driver in drivers.items():
        try:
            driver.close()
        except Exception as exc:  # noqa: BLE001 - stopping must go on; the operator is told what is left
            log.warning("backend %s: could not release its storage on stop: %s", name, exc)


def create_default_share_type(settings: Settings, engine: Engine) -> bool:
    return ensure_default_share_type(SqlAlchemyDatabase(engine), settings.default_share_type)


def create_default_share_group_type(settings: Settings, engine: Engine) -> bool:
    """The default share group type (it stands in for consistency groups); groups made before share groups
    existed get it. True if the type was created."""
    return ensure_default_share_group_type(SqlAlchemyDatabase(engine), settings.default_share_group_type,
                                           settings.default_share_type, settings.availability_zone)


def engine_for(settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.effective_database_url)
