"""Snapshots and cgsnapshot members mounted read-only (2.32, `mount_snapshot_support`) through the worker's
NFS-Ganesha: the real API in-process on SQLite, a posix and a btrfs backend, and a libnfs client in its own network
namespace at 10.231.1.2 (the harness of tests/nfs). A member is a file-by-file copy of its share at the cut,
so a user can copy one file out of a cut without restoring the whole group."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lockstep.adapters.drivers import loopfs
from tests.api.access_helpers import granted
from tests.api.helpers import create_snapshot, create_type
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

    def config(self) -> str:
        return self.ganesha.settings.config_path.read_text()

    def export_id(self, pseudo: str) -> int | None:
        """The Export_Id of the export at `pseudo` in Ganesha's configuration (None: not exported)."""
        for block in self.config().split("EXPORT {")[1:]:
            if f'Pseudo = "{pseudo}";' in block:
                found = re.search(r"Export_Id = (\d+);", block)
                assert found is not None
                return int(found.group(1))
        return None

    def local_file(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content)
        return path


@contextlib.contextmanager
def _backend(kind: str) -> Iterator[str]:
    """The backend's configuration: posix in a directory, or btrfs in a loop-mounted image (what `make run`
    uses as root: a snapshot is a read-only subvolume, a cut a read-only snapshot of the group's)."""
    # Outside pytest's temporary directories: pytest prunes old ones and must never walk into a mount.
    scratch = Path(tempfile.mkdtemp(prefix="lockstep-nfs-snapshots-", dir="/var/tmp"))
    root = scratch / "storage"
    try:
        if kind == "btrfs":
            ok, reason = loopfs.btrfs_available()
            if not ok:
                pytest.skip(f"btrfs unavailable: {reason}")
            loopfs.ensure_btrfs_image(scratch / "fs.img", root, 4 << 30)
        yield f'[backend.default]\ndriver = "{kind}"\npath = "{root}"\n'
    finally:
        if kind == "btrfs":
            loopfs.release(root)
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module", params=["posix", "btrfs"])
def site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    if os.geteuid() != 0:
        pytest.skip("NFS tests need root (network namespaces, Ganesha)")
    tmp = tmp_path_factory.mktemp(f"nfs-snapshots-{request.param}")
    config = tmp / "lockstep.toml"
    with _backend(str(request.param)) as toml, namespaces() as ns, migrated_database("sqlite", tmp) as url:
        config.write_text(toml)
        with in_process_server(tmp / "data", url, LOCKSTEP_CONFIG=str(config), LOCKSTEP_BACKEND=str(request.param),
                               LOCKSTEP_NFS="ganesha",
                               LOCKSTEP_NFS_ADDRESS=SERVER_IP, LOCKSTEP_NFS_WRAP=shlex.join(ns.wrap)) as server:
            yield Site(server, NfsClient(ns.client_netns), tmp)


def _mountable_type(admin: Client) -> str:
    return str(create_type(admin, snapshot_support=True, mount_snapshot_support=True)["id"])


def _pseudo(locations: list[dict[str, Any]]) -> str:
    """The pseudo path of the one location a member of the project sees: `<address>:<pseudo path>`."""
    assert len(locations) == 1, locations
    address, _, pseudo = locations[0]["path"].partition(":")
    assert address == SERVER_IP
    return str(pseudo)


def _allow(client: Client, base: str, access_to: str) -> dict[str, Any]:
    resp = client.post(f"{base}/action", {"allow_access": {"access_type": "ip", "access_to": access_to}})
    assert resp.status_code == 202, resp.text
    rule: dict[str, Any] = resp.json()["snapshot_access"]
    client.until(lambda: _state(client, base, rule["id"]) in ("active", "error"),
                 lambda: f"rule {rule['id']} stayed {_state(client, base, rule['id'])}")
    assert _state(client, base, rule["id"]) == "active"
    return rule


def _state(client: Client, base: str, rule_id: str) -> str | None:
    rules = client.get(f"{base}/access-list").json()["snapshot_access_list"]
    return next((str(r["state"]) for r in rules if r["id"] == rule_id), None)


def _deny(client: Client, base: str, rule_id: str) -> None:
    assert client.post(f"{base}/action", {"deny_access": {"access_id": rule_id}}).status_code == 202
    client.until(lambda: _state(client, base, rule_id) is None, lambda: f"rule {rule_id} was never removed")


def test_a_cgsnapshot_member_mounted_read_only_shows_the_data_at_the_cut(site: Site) -> None:
    admin = site.server.client(version="2.30")
    share_type = _mountable_type(admin)
    group = admin.create_group(share_types=[share_type])
    share = admin.create_share(share_type=share_type, consistency_group_id=group["id"])
    share_pseudo = f"/shares/{share['id']}"
    granted(admin, share["id"], access_to=CLIENT_IP, access_level="rw")
    wrote = site.client.put(site.local_file("a.txt", b"balance=100\n"), share_pseudo, "a.txt")  # A
    assert wrote.returncode == 0, wrote.stderr

    cut = admin.create_cgsnapshot(group["id"])
    assert cut["status"] == "available"
    (member,) = admin.get(f"/cgsnapshots/{cut['id']}/members").json()["cgsnapshot_members"]
    wrote = site.client.put(site.local_file("b.txt", b"txn 42\n"), share_pseudo, "b.txt")  # B, after the cut
    assert wrote.returncode == 0, wrote.stderr
    # A changed in place (libnfs cannot overwrite a file: the server side writes it).
    local_share = Path(next(loc["path"] for loc in admin.get(f"/shares/{share['id']}/export_locations").json()
                            ["export_locations"] if loc["path"].startswith("/")))
    (local_share / "a.txt").write_text("balance=0\n")

    user = admin.with_(user="alice", version="2.32")  # a member of the project, at the share-group API
    base = f"/share-group-snapshots/{cut['id']}/members/{member['id']}"
    pseudo = _pseudo(user.get(f"{base}/export-locations").json()["share_snapshot_export_locations"])
    assert pseudo == f"/snapshots/{member['id']}"
    assert refused_mount(site.client.ls(pseudo))  # no rule: no export

    stranger = _allow(user, base, STRANGER_IP)
    assert refused_mount(site.client.ls(pseudo))  # a rule for another address does not let this client in

    rule = _allow(user, base, CLIENT_IP)
    listing = site.client.ls(pseudo)
    assert listing.returncode == 0, listing.stderr
    assert "a.txt" in listing.stdout and "b.txt" not in listing.stdout  # B came after the cut
    read = site.client.cat(pseudo, "a.txt")
    assert read.returncode == 0 and read.stdout == "balance=100\n", read.stderr  # A as it was at the cut
    assert refused_write(site.client.put(site.local_file("c.txt", b"c"), pseudo, "c.txt"))
    export_id = site.export_id(pseudo)
    assert export_id is not None and export_id != site.export_id(share_pseudo)

    # Ganesha gone: the worker's restart restores the same exports, ids included.
    pid = site.ganesha.pid()
    site.ganesha.stop()
    assert site.server.worker is not None
    site.server.worker.restore_exports()
    assert site.ganesha.pid() not in (None, pid)
    assert site.export_id(pseudo) == export_id
    assert site.client.cat(pseudo, "a.txt").stdout == "balance=100\n"

    _deny(user, base, rule["id"])
    assert refused_mount(site.client.ls(pseudo))  # deny removes access
    assert site.export_id(pseudo) == export_id  # the stranger's rule keeps the export, with its id
    _deny(user, base, stranger["id"])
    assert site.export_id(pseudo) is None  # no rule: no export
    _allow(user, base, CLIENT_IP)
    assert site.export_id(pseudo) == export_id  # allocated once, never changed
    assert site.client.cat(pseudo, "a.txt").stdout == "balance=100\n"

    # Deleting the cgsnapshot removes the member's export before its data.
    assert admin.delete(f"/cgsnapshots/{cut['id']}").status_code == 202
    admin.wait_gone(f"/cgsnapshots/{cut['id']}")
    assert site.export_id(pseudo) is None
    assert refused_mount(site.client.ls(pseudo))


def test_a_snapshot_is_mounted_read_only_and_its_export_goes_before_it_does(site: Site) -> None:
    admin = site.server.client(version="2.32")
    share = admin.create_share(share_type=_mountable_type(admin))
    local_share = Path(next(loc["path"] for loc in admin.get(f"/shares/{share['id']}/export_locations").json()
                            ["export_locations"] if loc["path"].startswith("/")))
    (local_share / "notes.txt").write_text("first draft\n")
    snap = create_snapshot(admin, share["id"])
    (local_share / "notes.txt").write_text("second draft\n")

    locations = admin.get(f"/snapshots/{snap['id']}/export-locations").json()["share_snapshot_export_locations"]
    assert sorted(loc["is_admin_only"] for loc in locations) == [False, True]  # the directory is admin-only
    member = admin.with_(user="alice")
    pseudo = _pseudo(member.get(f"/snapshots/{snap['id']}/export-locations").json()
                     ["share_snapshot_export_locations"])
    assert pseudo == f"/snapshots/{snap['id']}"
    assert refused_mount(site.client.ls(pseudo))

    base = f"/snapshots/{snap['id']}"
    _allow(member, base, "10.231.1.0/24")
    read = site.client.cat(pseudo, "notes.txt")
    assert read.returncode == 0 and read.stdout == "first draft\n", read.stderr
    assert refused_write(site.client.put(site.local_file("n.txt", b"n"), pseudo, "n.txt"))

    # A user rule cannot be carried by an NFS export: error, without holding up the ip rule.
    resp = member.post(f"{base}/action", {"allow_access": {"access_type": "user", "access_to": "alice"}})
    assert resp.status_code == 202, resp.text
    user_rule = resp.json()["snapshot_access"]["id"]
    member.until(lambda: _state(member, base, user_rule) == "error", lambda: "the user rule did not fail")
    assert site.client.cat(pseudo, "notes.txt").returncode == 0

    binds = site.ganesha.settings.state_dir / "binds"  # the bind mounts Lockstep made for Ganesha
    if site.server.drivers["lockstep@default"].kind == "btrfs":
        assert snap["id"] in binds.read_text()  # a subvolume: Ganesha sees it through a bind mount
    assert admin.delete(base).status_code == 202
    admin.wait_gone(base)  # the subvolume could be deleted: the bind mount went first
    assert site.export_id(pseudo) is None
    assert refused_mount(site.client.ls(pseudo))
    assert not binds.exists() or snap["id"] not in binds.read_text()


def test_a_run_that_died_after_ganesha_served_the_export_is_finished_by_the_next(
        site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker dies between Ganesha serving the new export and recording the rule `active` (the
    operation's lease runs out, another run takes it): the rule is left `applying`, the next run finishes it."""
    admin = site.server.client(version="2.32")
    snap = create_snapshot(admin, admin.create_share(share_type=_mountable_type(admin))["id"])
    assert site.server.worker is not None and site.server.worker.context.nfs is not None
    nfs = site.server.worker.context.nfs
    real = nfs.enforce_snapshot
    calls: list[str] = []

    def dying(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append(args[1])
        if len(calls) == 1:
            raise RuntimeError("worker killed after Ganesha reloaded its exports")
        return result

    monkeypatch.setattr(nfs, "enforce_snapshot", dying)
    base = f"/snapshots/{snap['id']}"
    resp = admin.post(f"{base}/action", {"allow_access": {"access_type": "ip", "access_to": CLIENT_IP}})
    assert resp.status_code == 202, resp.text
    rule = resp.json()["snapshot_access"]["id"]
    assert _state(admin, base, rule) == "applying"  # taken, not recorded
    assert site.client.ls(f"/snapshots/{snap['id']}").returncode == 0  # Ganesha serves it already
    admin.until(lambda: _state(admin, base, rule) == "active", lambda: "the retried run never finished")
    assert calls == [snap["id"], snap["id"]]
