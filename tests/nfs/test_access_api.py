"""Access rules granted through the API are enforced by the worker's NFS-Ganesha (`nfs = "ganesha"`):
a posix share, the real API in-process on SQLite, the worker's update_access, and a libnfs client in its
own network namespace at 10.231.1.2. Ganesha's processes run in the server namespace of the harness."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.access_helpers import deny, granted, rule, rules_status
from tests.nfs.harness import (
    CLIENT_IP,
    SERVER_IP,
    STRANGER_IP,
    NfsClient,
    NfsSite,
    namespaces,
    refused_mount,
    refused_write,
)
from tests.support import Client, in_process_server, migrated_database

pytestmark = [pytest.mark.nfs, pytest.mark.root]


class Site(NfsSite):
    """The harness's site, with this module's helpers."""

    def local_file(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content)
        return path


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if os.geteuid() != 0:
        pytest.skip("NFS tests need root (network namespaces, Ganesha)")
    tmp = tmp_path_factory.mktemp("nfs-api")
    with namespaces() as ns, migrated_database("sqlite", tmp) as url, \
            in_process_server(tmp / "data", url, LOCKSTEP_BACKEND="posix", LOCKSTEP_NFS="ganesha",
                              LOCKSTEP_NFS_ADDRESS=SERVER_IP, LOCKSTEP_NFS_WRAP=shlex.join(ns.wrap)) as server:
        yield Site(server, NfsClient(ns.client_netns), tmp)


def _share(client: Client) -> dict[str, Any]:
    share = client.create_share()
    assert share["status"] == "available", share
    share["export_locations_seen"] = client.get(f"/shares/{share['id']}/export_locations").json()["export_locations"]
    return share


def _path(share: dict[str, Any]) -> str:
    """The pseudo path of the share's preferred export location, `<address>:<pseudo path>`."""
    preferred = [loc["path"] for loc in share["export_locations_seen"] if loc["preferred"]]
    assert len(preferred) == 1, share["export_locations_seen"]
    address, _, pseudo = preferred[0].partition(":")
    assert address == SERVER_IP
    return str(pseudo)


def _local_dir(share: dict[str, Any]) -> Path:
    return Path(next(loc["path"] for loc in share["export_locations_seen"] if loc["path"].startswith("/")))


def test_a_share_is_exported_at_the_nfs_address_and_its_directory_is_admin_only(site: Site) -> None:
    admin = site.server.client(version="2.45")
    share = _share(admin)
    by_path = {loc["path"]: loc for loc in share["export_locations_seen"]}
    nfs = by_path[f"{SERVER_IP}:/shares/{share['id']}"]
    assert nfs["preferred"] is True and nfs["is_admin_only"] is False
    local = by_path[str(_local_dir(share))]
    assert local["preferred"] is False and local["is_admin_only"] is True
    assert _local_dir(share).is_dir()
    member = admin.with_(user="alice")
    shown = member.get(f"/shares/{share['id']}/export_locations").json()["export_locations"]
    assert [loc["path"] for loc in shown] == [nfs["path"]]


def test_pools_say_the_rules_are_enforced(site: Site) -> None:
    admin = site.server.client()
    pools = admin.get("/scheduler-stats/pools/detail").json()["pools"]
    assert pools and all(p["capabilities"]["lockstep:access_enforced"] is True for p in pools)
    assert all(p["capabilities"]["lockstep:nfs"] == "ganesha" for p in pools)
    health = site.server.http.get("/healthcheck/detailed", headers={"X-Auth-Token": "admin:admin",
                                                                     "Accept": "application/json"})
    assert health.status_code == 200, health.text
    assert health.json()["nfs_server"]["managed_by_lockstep"] is True


def test_rules_granted_through_the_api_decide_who_mounts_and_how(site: Site) -> None:
    client = site.server.client(version="2.45")
    share = _share(client)
    assert refused_mount(site.client.ls(_path(share)))  # no rule: no export

    other = granted(client, share["id"], access_to=STRANGER_IP)
    assert rule(client, other["id"])["state"] == "active"
    assert refused_mount(site.client.ls(_path(share)))  # a rule for another address

    rw = granted(client, share["id"], access_to=CLIENT_IP, access_level="rw")
    assert rule(client, rw["id"])["state"] == "active"
    wrote = site.client.put(site.local_file("api.txt", b"through the API\n"), _path(share), "api.txt")
    assert wrote.returncode == 0, wrote.stderr
    assert (_local_dir(share) / "api.txt").read_bytes() == b"through the API\n"

    ro = granted(client, share["id"], access_to="10.231.1.0/24", access_level="ro")  # ro wins for this client
    assert rule(client, ro["id"])["state"] == "active"
    assert refused_write(site.client.put(site.local_file("x.txt", b"x"), _path(share), "x.txt"))
    read = site.client.cat(_path(share), "api.txt")
    assert read.returncode == 0 and read.stdout == "through the API\n", read.stderr

    for access in (ro, rw):
        assert deny(client, share["id"], access["id"]).status_code == 202
    assert rules_status(client, share["id"]) == "active"
    assert refused_mount(site.client.ls(_path(share)))  # only the stranger's rule is left


def test_a_rule_nfs_cannot_enforce_goes_to_error_without_blocking_the_others(site: Site) -> None:
    client = site.server.client(version="2.45")
    share = _share(client)
    user = granted(client, share["id"], access_type="user", access_to="alice")
    assert rule(client, user["id"])["state"] == "error"
    rw = granted(client, share["id"], access_to=CLIENT_IP)
    assert rule(client, rw["id"])["state"] == "active"
    assert site.client.ls(_path(share)).returncode == 0


def test_deleting_a_share_removes_its_export_first(site: Site) -> None:
    client = site.server.client(version="2.45")
    share = _share(client)
    granted(client, share["id"], access_to=CLIENT_IP)
    assert site.client.ls(_path(share)).returncode == 0
    assert client.delete(f"/shares/{share['id']}").status_code == 202
    client.wait_gone(f"/shares/{share['id']}")
    assert f"/shares/{share['id']}" not in site.ganesha.settings.config_path.read_text()
    assert refused_mount(site.client.ls(_path(share)))


def test_after_ganesha_dies_the_worker_starts_it_with_the_same_exports(site: Site) -> None:
    client = site.server.client(version="2.45")
    share = _share(client)
    granted(client, share["id"], access_to=CLIENT_IP)
    before = site.ganesha.settings.config_path.read_text()
    pid = site.ganesha.pid()
    assert pid is not None
    site.ganesha.stop()
    assert site.ganesha.pid() is None
    assert site.server.worker is not None
    site.server.worker.restore_exports()  # what a restarted worker does first
    assert site.ganesha.pid() not in (None, pid)
    assert site.ganesha.settings.config_path.read_text() == before
    assert site.client.ls(_path(share)).returncode == 0
