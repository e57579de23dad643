"""Shared fixtures: every API test runs in-process on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import Client, InProcessServer, database, in_process_server

DATABASES = ["sqlite", "postgresql"]


@pytest.fixture(scope="module", params=DATABASES)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One in-process server per test module and database; tests isolate themselves by project id."""
    tmp: Path = tmp_path_factory.mktemp(f"srv-{request.param}")
    with database(request.param, tmp) as url, in_process_server(tmp / "data", url) as srv:
        yield srv


@pytest.fixture
def client(server: InProcessServer) -> Client:
    """An admin in a fresh project."""
    return server.client()


@pytest.fixture
def member(server: InProcessServer, client: Client) -> Client:
    """A non-admin user in the same project as `client`."""
    return client.with_(user="alice")
