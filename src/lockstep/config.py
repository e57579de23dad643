"""Typed settings, read once at start-up and passed in; nothing reads the environment later.

Sources, later ones winning: built-in defaults, a TOML file (``--config``, else
``$LOCKSTEP_CONFIG``, else ``<data_dir>/lockstep.toml`` if it exists), environment variables.

Example file::

    listen = "127.0.0.1:8786"
    data_dir = "/var/lib/lockstep"
    database_url = "postgresql+psycopg://postgres@127.0.0.1/lockstep"
    auth = "noauth"                 # or "keystone"
    admin_users = ["admin"]         # noauth: users that are admins
    enabled_share_protocols = ["NFS", "CIFS"]  # add "CEPHFS" for a cephfs backend
    default_share_type = "default"
    default_share_group_type = "default"  # stands in for consistency groups; "" for none
    host = "lockstep"               # this share host's name (host@backend#pool); `lockstep worker --host`
    backends = ["default"]          # backends this process's worker owns

    [backend.default]
    driver = "btrfs"                # auto | btrfs | posix | zfs | cephfs | fake
    image_size_gb = 20              # btrfs in a loop-mounted image in the data dir
    # backend_host = "shared"       # owned as shared@default by every worker that says so (shared storage)

    max_over_subscription_ratio = 20.0  # thin pools may provision this many times their size
    reserved_percentage = 5         # of each pool's total, never given to new shares

    [quota]                         # default limits of every project (-1: unlimited)
    shares = 50
    gigabytes = 1000

A backend's ``driver`` is a name registered in ``lockstep.adapters.drivers.registry.DRIVERS``
(the list above; tests/drivers/test_registry.py fails when it misses one). The other keys of a
``[backend.NAME]`` section are that driver's options (docs/drivers.md).
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from lockstep.domain.hosts import PoolRef
from lockstep.domain.model import KNOWN_SHARE_PROTOCOLS, SWITCH_BOOL, parse_bool
from lockstep.domain.pools import Overcommit
from lockstep.domain.quotas import DEFAULT_LIMITS, MAX_LIMIT, UNLIMITED, Resource

ENV_PREFIX = "LOCKSTEP_"


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class BackendConfig:
    name: str
    driver: str
    options: dict[str, str] = field(default_factory=dict)
    # Manila's backend_host: the host name this backend is owned by instead of this share host's. Every
    # worker that configures a backend with the same backend_host and name owns the same `host@backend`,
    # so any of them runs its operations and takes them over from another (storage that no single machine
    # owns, such as CephFS).
    backend_host: str | None = None


@dataclass(frozen=True)
class Settings:
    listen: str = "127.0.0.1:8786"
    data_dir: Path = Path("./data")
    database_url: str = ""
    auth: str = "noauth"
    admin_users: tuple[str, ...] = ("admin",)
    # Manila's option: the share_proto values the API accepts (CEPHFS for a cephfs backend).
    enabled_share_protocols: tuple[str, ...] = ("NFS", "CIFS")
    default_share_type: str | None = "default"
    default_share_group_type: str | None = "default"
    host: str = "lockstep"
    availability_zone: str = "nova"
    backends: tuple[BackendConfig, ...] = (BackendConfig("default", "auto"),)
    worker: bool = True  # `lockstep serve` runs a worker process next to its API processes
    processes: int = 0  # API processes of `lockstep serve`; 0: one per core
    lease_seconds: float = 30.0
    poll_interval: float = 0.5
    max_attempts: int = 5
    reclaim_interval: float = 600.0  # seconds between sweeps for orphaned storage
    soft_delete_retention: float = 604800.0  # seconds a share stays in the recycle bin (2.69)
    recycle_bin_interval: float = 3600.0  # seconds between a worker's looks for shares whose time is up
    policy_file: Path | None = None
    max_limit: int = 1000
    base_url: str | None = None  # osapi_share_base_URL
    require_atomic_cgsnapshots: bool = False
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # who may read /metrics (addresses or CIDRs)
    worker_metrics_listen: str = ""  # host:port where `lockstep worker` serves its own /metrics; "" = off
    keystone: dict[str, str] = field(default_factory=dict)
    quota_defaults: dict[Resource, int] = field(default_factory=lambda: dict(DEFAULT_LIMITS))
    message_ttl: float = 2592000.0  # seconds a user message is kept (Manila's message_ttl: 30 days)
    service_down_time: float = 60.0  # seconds without a heartbeat before a share host is down (and takes no work)
    report_interval: float = 10.0  # seconds between a worker's heartbeats and pool reports
    overcommit: Overcommit = field(default_factory=Overcommit)  # max_over_subscription_ratio, reserved_percentage
    request_timeout: float = 30.0  # seconds a client has to send a whole request (api/limits.py)
    max_connections: int = 1000  # open connections per API process; beyond it requests are answered 503
    nfs: str = "off"  # "ganesha": the worker runs NFS-Ganesha and access rules are enforced (docs/exports.md)
    nfs_address: str = ""  # the address in NFS export locations; "" = the listen address
    nfs_port: int = 2049
    nfs_mount_port: int = 20048
    nfs_ganesha_pidfile: str = ""  # an operator's Ganesha to reload instead of starting one
    nfs_wrap: str = ""  # a command prefix for Ganesha and rpcbind (e.g. nsenter into a network namespace)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'lockstep.sqlite').resolve()}"

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"listen must be host:port, got {self.listen!r}")
        return host.strip("[]"), int(port)

    @property
    def effective_nfs_address(self) -> str:
        return self.nfs_address or self.listen_host_port[0]

    def backend_host(self, backend: str) -> str:
        """`host@backend`: the key this host's worker owns the backend by (the backend's own
        `backend_host`, when it has one, instead of this share host's name)."""
        config = next((b for b in self.backends if b.name == backend), None)
        return PoolRef((config.backend_host if config else None) or self.host, backend).backend_key


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _read_toml(path: str | os.PathLike[str]) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc


#: The top-level keys of a configuration file: every setting, and the tables read on their own.
SECTIONS = frozenset({"backend", "quota", "keystone_authtoken"})
#: Settings fields read from a table or from several keys rather than from a key of their own name.
_NOT_KEYS = frozenset({"keystone", "quota_defaults", "overcommit"})
KEYS = (frozenset(f.name for f in fields(Settings)) - _NOT_KEYS
        | {"backends", "max_over_subscription_ratio", "reserved_percentage"} | SECTIONS)


def _exists(path: Path) -> bool:
    """False also when the data directory cannot be looked into: start-up then says so about the directory."""
    try:
        return path.exists()
    except OSError:
        return False


def _file_data(config_file: str | os.PathLike[str] | None, env: Mapping[str, str]) -> dict[str, Any]:
    path = config_file or env.get(ENV_PREFIX + "CONFIG")
    data_dir = Path(env.get(ENV_PREFIX + "DATA_DIR", "./data"))
    if not path and _exists(data_dir / "lockstep.toml"):
        path = data_dir / "lockstep.toml"
    if not path:
        return {}
    data = _read_toml(path)
    unknown = sorted(set(data) - KEYS)
    if unknown:
        # A misspelt key silently left its default in force; say which key, and what is known.
        raise ConfigError(f"config file {path}: unknown key{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(map(repr, unknown))}; remove or correct it (known keys: "
                          f"{', '.join(sorted(KEYS))})")
    return data


def _backends(
    pick: Callable[[str, Any], Any], data: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[BackendConfig, ...]:
    sections: dict[str, Any] = data.get("backend", {})
    names = pick("backends", None)
    if isinstance(names, str):
        names = _split(names)
    if not names:
        names = tuple(sections) or ("default",)
    env_driver = env.get(ENV_PREFIX + "BACKEND")
    backends = []
    for name in names:
        section = dict(sections.get(name, {}))
        driver = str(section.pop("driver", "auto"))
        if env_driver and name == names[0]:
            driver = env_driver
        backend_host = str(section.pop("backend_host", "") or "") or None
        if backend_host is not None and any(c in backend_host for c in "@#"):
            raise ConfigError(f"[backend.{name}] backend_host must be a plain host name (no '@' or '#'), "
                              f"got {backend_host!r}")
        backends.append(BackendConfig(name, driver, {k: str(v) for k, v in section.items()}, backend_host))
    return tuple(backends)


def _quota_defaults(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[Resource, int]:
    """`[quota] <resource> = N` in the file, `LOCKSTEP_QUOTA_<RESOURCE>` in the environment."""
    section = data.get("quota", {})
    if not isinstance(section, dict):
        raise ConfigError("[quota] must be a table of resource = limit")
    unknown = set(section) - {str(r) for r in Resource}
    if unknown:
        raise ConfigError(f"[quota] has unknown resources {sorted(unknown)}; known: {sorted(str(r) for r in Resource)}")
    limits = dict(DEFAULT_LIMITS)
    for resource in Resource:
        value = env.get(f"{ENV_PREFIX}QUOTA_{resource.upper()}", section.get(str(resource)))
        if value is None:
            continue
        try:
            limit = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"quota {resource} must be an integer, got {value!r}") from None
        if not UNLIMITED <= limit <= MAX_LIMIT:
            raise ConfigError(f"quota {resource} must be -1 (unlimited) or between 0 and {MAX_LIMIT}, got {limit}")
        limits[resource] = limit
    return limits


def _processes(value: Any) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"processes must be a whole number (0: one per core), got {value!r}") from None
    if count < 0:
        raise ConfigError(f"processes must be 0 (one per core) or more, got {count}")
    return count


def _log_format(value: Any) -> str:
    fmt = str(value).lower()
    if fmt not in ("text", "json"):
        raise ConfigError(f"log_format must be 'text' or 'json', got {value!r}")
    return fmt


def _nfs(value: Any) -> str:
    mode = str(value).lower()
    if mode not in ("off", "ganesha"):
        raise ConfigError(f"nfs must be 'off' or 'ganesha', got {value!r}")
    return mode


def _metrics_allow(value: Any) -> tuple[str, ...]:
    """Addresses or CIDRs allowed to read /metrics: a list in the file, comma-separated in the environment."""
    spellings = _split(value) if isinstance(value, str) else tuple(str(v) for v in value)
    for spelling in spellings:
        try:
            ipaddress.ip_network(spelling, strict=False)
        except ValueError:
            raise ConfigError(f"metrics_allow: {spelling!r} is not an IP address or CIDR") from None
    return spellings


def _overcommit(pick: Callable[[str, Any], Any]) -> Overcommit:
    default = Overcommit()
    try:
        ratio = float(pick("max_over_subscription_ratio", default.max_over_subscription_ratio))
        reserved = float(pick("reserved_percentage", default.reserved_percentage))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"max_over_subscription_ratio and reserved_percentage must be numbers ({exc})") from None
    if not 1.0 <= ratio <= 1000.0:
        raise ConfigError(f"max_over_subscription_ratio must be between 1.0 (no oversubscription) and 1000, "
                          f"got {ratio:g}")
    if not 0.0 <= reserved < 100.0:
        raise ConfigError(f"reserved_percentage must be at least 0 and below 100, got {reserved:g}")
    return Overcommit(ratio, reserved)
def _positive(value: Any, key: str, kind: Callable[[Any], float]) -> float:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a positive number, got {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{key} must be a positive number, got {value!r}")
    return number


def load(config_file: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    data = _file_data(config_file, env)

    def pick(key: str, default: Any) -> Any:
        env_value = env.get(ENV_PREFIX + key.upper())
        if env_value is not None:
            return env_value
        return data.get(key, default)

    backends = _backends(pick, data, env)
    admin_users = pick("admin_users", ("admin",))
    if isinstance(admin_users, str):
        admin_users = _split(admin_users)
    protocols = pick("enabled_share_protocols", ("NFS", "CIFS"))
    protocols = tuple(p.upper() for p in (_split(protocols) if isinstance(protocols, str) else protocols))
    if not protocols or not set(protocols) <= set(KNOWN_SHARE_PROTOCOLS):
        raise ConfigError(f"enabled_share_protocols must name some of {', '.join(KNOWN_SHARE_PROTOCOLS)}, "
                          f"got {', '.join(protocols) or 'none'}")
    default_type = pick("default_share_type", "default")
    default_group_type = pick("default_share_group_type", "default")
    policy_file = pick("policy_file", None)
    auth = str(pick("auth", "noauth")).lower()
    if auth not in ("noauth", "keystone"):
        raise ConfigError(f"auth must be 'noauth' or 'keystone', got {auth!r}")
    settings = Settings(
        listen=str(pick("listen", "127.0.0.1:8786")),
        data_dir=Path(str(pick("data_dir", "./data"))),
        database_url=str(pick("database_url", "")),
        auth=auth,
        admin_users=tuple(admin_users),
        enabled_share_protocols=protocols,
        default_share_type=str(default_type) if default_type else None,
        default_share_group_type=str(default_group_type) if default_group_type else None,
        host=str(pick("host", "lockstep")) or socket.gethostname(),
        availability_zone=str(pick("availability_zone", "nova")),
        backends=backends,
        worker=parse_bool(pick("worker", True), spelling=SWITCH_BOOL),
        processes=_processes(pick("processes", 0)),
        lease_seconds=float(pick("lease_seconds", 30.0)),
        poll_interval=float(pick("poll_interval", 0.5)),
        max_attempts=int(pick("max_attempts", 5)),
        reclaim_interval=float(pick("reclaim_interval", 600.0)),
        soft_delete_retention=float(pick("soft_delete_retention", 604800.0)),
        recycle_bin_interval=float(pick("recycle_bin_interval", 3600.0)),
        policy_file=Path(str(policy_file)) if policy_file else None,
        max_limit=int(pick("max_limit", 1000)),
        base_url=pick("base_url", None),
        require_atomic_cgsnapshots=parse_bool(pick("require_atomic_cgsnapshots", False), spelling=SWITCH_BOOL),
        log_level=str(pick("log_level", "INFO")).upper(),
        log_format=_log_format(pick("log_format", "text")),
        metrics_allow=_metrics_allow(pick("metrics_allow", ("127.0.0.0/8", "::1/128"))),
        worker_metrics_listen=str(pick("worker_metrics_listen", "")),
        keystone={k: str(v) for k, v in data.get("keystone_authtoken", {}).items()},
        quota_defaults=_quota_defaults(data, env),
        message_ttl=float(pick("message_ttl", 2592000.0)),
        service_down_time=_positive(pick("service_down_time", 60.0), "service_down_time", float),
        report_interval=_positive(pick("report_interval", 10.0), "report_interval", float),
        overcommit=_overcommit(pick),
        request_timeout=_positive(pick("request_timeout", 30.0), "request_timeout", float),
        max_connections=int(_positive(pick("max_connections", 1000), "max_connections", int)),
        nfs=_nfs(pick("nfs", "off")),
        nfs_address=str(pick("nfs_address", "")),
        nfs_port=int(pick("nfs_port", 2049)),
        nfs_mount_port=int(pick("nfs_mount_port", 20048)),
        nfs_ganesha_pidfile=str(pick("nfs_ganesha_pidfile", "")),
        nfs_wrap=str(pick("nfs_wrap", "")),
    )
    _ = settings.listen_host_port  # validate early: a bad address fails at start-up, not at bind
    metrics_host, _, metrics_port = settings.worker_metrics_listen.rpartition(":")
    if settings.worker_metrics_listen and (not metrics_host or not metrics_port.isdigit()):
        raise ConfigError(f"worker_metrics_listen must be host:port, got {settings.worker_metrics_listen!r}")
    return settings
