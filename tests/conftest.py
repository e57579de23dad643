"""Shared fixtures (every API test runs in-process on SQLite and on PostgreSQL) and how the suite is split
between pytest-xdist workers (`make test` runs `-n auto --dist loadgroup`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Client, InProcessServer, in_process_server, migrated_database

DATABASES = ["sqlite", "postgresql"]

# Tests on real filesystems share host-wide resources: the zfs-fuse daemon (started by the first test
# that needs it, stopped at the end of that process's session) and loop devices. They run in one
# worker, one after the other, and first, since they are the longest unit.
REAL_STORAGE = ("drivers", "storage")
# Then the other tiers with live processes, then the in-process tier.
LIVE = ("durability", "e2e", "ops")
ORDER = {"drivers": 0, "storage": 0, "durability": 1, "e2e": 1, "ops": 1}

MEASUREMENTS: list[str] = []


def _tier(item: pytest.Item) -> str:
    parts = item.path.relative_to(item.config.rootpath).parts
    return parts[1] if len(parts) > 2 else ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """xdist groups: one for real storage; one per in-process module (its module-scoped servers are built
    once); the live-process tests (each starts its own servers) are spread one by one."""
    for item in items:
        tier = _tier(item)
        if tier in REAL_STORAGE:
            item.add_marker(pytest.mark.xdist_group("real-storage"))
        elif tier not in LIVE:
            item.add_marker(pytest.mark.xdist_group(str(item.path.relative_to(config.rootpath))))
    items.sort(key=lambda item: ORDER.get(_tier(item), 2))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Measurements a test records (`record_property("driver_measurement", ...)`), also from xdist workers."""
    if report.when == "call":
        MEASUREMENTS.extend(str(value) for key, value in report.user_properties if key == "driver_measurement")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if MEASUREMENTS:
        terminalreporter.section("driver measurements")
        for line in MEASUREMENTS:
            terminalreporter.write_line(line)


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
