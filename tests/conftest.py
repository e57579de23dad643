"""Shared fixtures (every API test runs in-process on SQLite and on PostgreSQL) and how the suite is split
between pytest-xdist workers (`make test` runs `-n 4 --dist loadscope` with the scheduler below)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ceph_cluster import CephCluster, session_cluster
from tests.support import Client, InProcessServer, in_process_server, migrated_database

DATABASES = ["sqlite", "postgresql"]

# How `make test` splits the suite between pytest-xdist workers (`-n 4 --dist loadscope`, with the
# scheduler below). A unit of work runs on one worker, one test after the other:
# - every test on real filesystems, together: they share host-wide resources (the zfs-fuse daemon that
#   the first test needing it starts and its session stops, loop devices); it is the longest unit and
#   runs first. Live-process tests parametrized on btrfs or zfs join it.
# - each in-process test module: its module-scoped servers are built once.
# - each live-process test on its own: it starts its own servers, and there are few but long ones.
# - every test on Ceph (tests/ceph/, and the driver tests parametrized on cephfs), together: they share
#   one cluster per session (booting one costs ~12 s and 0.5 GB), which lives in one worker process.
# (xdist's own `xdist_group` marks do not take effect with this pytest, whose node ids ignore the
# suffix xdist adds: hence a scheduler keyed on the node id alone.)
REAL_STORAGE = ("drivers", "storage")
LIVE = ("durability", "e2e", "ops", "cluster")
ORDER = {"drivers": 0, "storage": 0, "ceph": 0, "durability": 1, "e2e": 1, "ops": 1, "cluster": 1}
_ON_REAL_STORAGE = re.compile(r"\[(btrfs|zfs)\b")
_ON_CEPH = re.compile(r"\[cephfs\b")


def _tier_of(path: str) -> str:
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


def work_unit(nodeid: str) -> str:
    """The unit of work (see above) a test belongs to, from its node id."""
    path = nodeid.split("::", 1)[0]
    tier = _tier_of(path)
    if tier == "ceph" or _ON_CEPH.search(nodeid):
        return "ceph"
    if tier in REAL_STORAGE or (tier in LIVE and _ON_REAL_STORAGE.search(nodeid)):
        return "real-storage"
    return nodeid if tier in LIVE else path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

    class ByWorkUnit(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    config.option.loadscopereorder = False  # keep the order below: the long units first
    return ByWorkUnit(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Real storage first, then the live-process tests, then the in-process modules."""
    items.sort(key=lambda item: (work_unit(item.nodeid) not in ("real-storage", "ceph"),
                                 ORDER.get(_tier_of(item.nodeid.split("::", 1)[0]), 2)))


MEASUREMENTS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Measurements a test records (`record_property("driver_measurement", ...)`), also from xdist workers."""
    if report.when == "call":
        MEASUREMENTS.extend(str(value) for key, value in report.user_properties if key == "driver_measurement")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASUREMENTS:
        terminalreporter.section("driver measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def ceph_cluster() -> Iterator[CephCluster]:
    """One Ceph cluster for the session (tests/ceph_cluster.py), torn down at exit."""
    with session_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One in-process server per test module and database; tests isolate themselves by project id."""
    tmp: Path = tmp_path_factory.mktemp(f"srv-{request.param}")
    with migrated_database(request.param, tmp) as url, in_process_server(tmp / "data", url) as srv:
        yield srv


@pytest.fixture
def client(server: InProcessServer) -> Client:
    """An admin in a fresh project."""
    return server.client()


@pytest.fixture
def member(server: InProcessServer, client: Client) -> Client:
    """A non-admin user in the same project as `client`."""
    return client.with_(user="alice")
