"""A backend that serves its own protocol (cephfs: CephFS clients, cephx caps) gets no NFS front end: with
`nfs = "ganesha"` its shares' export locations stay the backend's own, where a directory backend's local
path is exported over NFS and becomes admin-only."""

from __future__ import annotations

from pathlib import Path

from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.adapters.drivers import registry
from lockstep.bootstrap import build_nfs, engine_for
from lockstep.config import Settings
from lockstep.service.operations.settle import locations
from lockstep.service.storage import ExportLocation, ShareResult


def test_only_a_directory_offered_to_clients_is_exported_over_nfs(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, nfs="ganesha", nfs_address="192.0.2.7")
    engine = engine_for(settings)
    nfs = build_nfs(settings, SqlAlchemyDatabase(engine))
    assert nfs is not None

    directory = locations(ShareResult([ExportLocation("/srv/lockstep/shares/s1")]), "s1", nfs)
    assert [(loc["path"], loc["is_admin_only"], loc["preferred"]) for loc in directory] == [
        (nfs.location("s1"), False, True), ("/srv/lockstep/shares/s1", True, False)]
    assert str(directory[0]["path"]).startswith("192.0.2.7:")

    native = ShareResult([ExportLocation("/var/lib/lockstep/mnt/volumes/g/s2/u", is_admin_only=True, preferred=False),
                          ExportLocation("127.0.0.1:6789:/volumes/g/s2/u")])
    assert [(loc["path"], loc["is_admin_only"], loc["preferred"]) for loc in locations(native, "s2", nfs)] == [
        ("/var/lib/lockstep/mnt/volumes/g/s2/u", True, False), ("127.0.0.1:6789:/volumes/g/s2/u", False, True)]
    engine.dispose()


def test_the_drivers_say_whether_they_serve_their_own_protocol(tmp_path: Path) -> None:
    options = {"cephfs": {"conf": "/etc/ceph/ceph.conf"}, "zfs": {"dataset": "tank/lockstep"}}
    native = {name: registry.build(name, registry.BackendSite("b", options.get(name, {"path": str(tmp_path)}),
                                                              tmp_path)).native_access
              for name in registry.storage_drivers()}
    assert native == {name: name == "cephfs" for name in registry.storage_drivers()}
