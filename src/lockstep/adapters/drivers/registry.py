"""Drivers by name: the one map that bootstrap, the CLI help, the docs check and the driver tests read.

A backend's configured `driver` (``[backend.NAME] driver``, ``LOCKSTEP_BACKEND``) is a key of
`DRIVERS`. Adding a driver is its module plus one factory and one entry here.

Factories import their driver's module when called, not when this module is imported: a process
only pays for (and only needs the system tools of) the drivers it is configured with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from lockstep.service.storage import ShareDriver


class UnknownDriver(ValueError):
    """A configured driver name that is not registered."""


@dataclass(frozen=True)
class BackendSite:
    """What a factory is given: one configured backend and the service's data directory."""

    name: str  # the backend's configured name: `[backend.NAME]`
    options: Mapping[str, str]
    data_dir: Path

    @property
    def root(self) -> Path:
        """Where a directory-based driver keeps storage: `path`, else `<data_dir>/backends/<name>`."""
        return Path(self.options.get("path") or self.data_dir / "backends" / self.name)

    def with_options(self, **changes: str) -> BackendSite:
        return BackendSite(self.name, {**self.options, **changes}, self.data_dir)

    def options_with_root(self) -> dict[str, str]:
        """The options, with `path` defaulted to `root` when it is not configured at all."""
        return {"path": str(self.root), **self.options}


DriverFactory = Callable[[BackendSite], ShareDriver]


def _auto(site: BackendSite) -> ShareDriver:
    from lockstep.adapters.drivers.auto import build_auto

    return build_auto(site)


def _btrfs(site: BackendSite) -> ShareDriver:
    from lockstep.adapters.drivers.btrfs import BtrfsDriver

    return BtrfsDriver(site.options_with_root())


def _posix(site: BackendSite) -> ShareDriver:
    from lockstep.adapters.drivers.posix import PosixDriver

    return PosixDriver(site.options_with_root())


def _zfs(site: BackendSite) -> ShareDriver:
    from lockstep.adapters.drivers.zfs import ZfsDriver

    return ZfsDriver(site.options)


def _cephfs(site: BackendSite) -> ShareDriver:
    from lockstep.adapters.drivers.cephfs import CephfsDriver

    return CephfsDriver(site.options_with_root())


def _fake(site: BackendSite) -> ShareDriver:
    from lockstep.adapters.drivers.fake import FakeDriver

    return FakeDriver(site.options)


#: Every driver name a backend may be configured with, in the order help texts list them.
DRIVERS: Mapping[str, DriverFactory] = MappingProxyType(
    {"auto": _auto, "btrfs": _btrfs, "posix": _posix, "zfs": _zfs, "cephfs": _cephfs, "fake": _fake}
)

#: Names that choose another registered driver at start-up rather than being one (`auto` serves
#: from btrfs or posix); the contract tests run over the other names.
CHOOSERS = frozenset({"auto"})


def names() -> tuple[str, ...]:
    return tuple(DRIVERS)


def storage_drivers() -> tuple[str, ...]:
    """The registered names that are drivers of their own (not choosers)."""
    return tuple(name for name in DRIVERS if name not in CHOOSERS)


def build(driver: str, site: BackendSite) -> ShareDriver:
    """The driver registered as `driver` for the backend `site`; not set up yet."""
    factory = DRIVERS.get(driver)
    if factory is None:
        raise UnknownDriver(f"backend {site.name}: unknown driver {driver!r} ({', '.join(DRIVERS)})")
    return factory(site)
