"""NFS-Ganesha run by Lockstep's adapter serves exactly what the access rules grant, to a real NFS
client in its own network namespace with its own address.

The exports come from the rules through `lockstep.domain.exports` with export ids allocated in a real
database (`nfs_exports`), the configuration is written and Ganesha started or reloaded by
`GaneshaServer`, and a libnfs client (NFSv3) tries to mount, read and write from 10.231.1.2.
The tests of this module run in order on one server, as one story.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.unit_of_work import SqlAlchemyDatabase
from lockstep.adapters.nfs.ganesha import GaneshaServer, GaneshaSettings
from lockstep.adapters.nfs.ganesha_conf import ServerSettings
from lockstep.domain.exports import Export, export_for
from lockstep.service.unit_of_work import Database
from tests.nfs.harness import (
    CLIENT_IP,
    MOUNT_PORT,
    NFS_PORT,
    STRANGER_IP,
    NfsClient,
    namespaces,
    refused_mount,
    refused_write,
)
from tests.support import migrated_database

pytestmark = [pytest.mark.nfs, pytest.mark.root]


@dataclass(frozen=True)
class Rule:
    id: str
    access_to: str
    access_level: str = "rw"
    access_type: str = "ip"


@dataclass
class Rig:
    server: GaneshaServer
    client: NfsClient
    db: Database
    shares: Path
    tmp: Path

    def share_dir(self, share_id: str) -> Path:
        path = self.shares / share_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def exports(self, rules: dict[str, list[Rule]]) -> list[Export]:
        """The exports for each share's rule set, with the export ids of the database."""
        exports = []
        with self.db.write() as uow:
            for share_id, share_rules in sorted(rules.items()):
                export = export_for(uow.export_ids.allocate(share_id), str(self.share_dir(share_id)), share_id,
                                    share_rules)
                if export is not None:
                    exports.append(export)
            uow.commit()
        return exports

    def apply(self, rules: dict[str, list[Rule]]) -> None:
        self.server.apply(self.exports(rules))

    def local_file(self, name: str, content: bytes) -> Path:
        path = self.tmp / name
        path.write_bytes(content)
        return path


def _preconditions() -> None:
    if os.geteuid() != 0:
        pytest.skip("NFS tests need root (network namespaces, Ganesha)")


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    _preconditions()
    tmp = tmp_path_factory.mktemp("nfs")
    with namespaces() as ns, migrated_database("sqlite", tmp) as url:
        engine = make_engine(url)
        settings = GaneshaSettings(ServerSettings(state_dir=tmp / "data" / "nfs", nfs_port=NFS_PORT,
                                                  mount_port=MOUNT_PORT), wrap=ns.wrap)
        server = GaneshaServer(settings)
        available = server.availability()
        assert available.ok, available.reason  # scripts/install-system-deps.sh installs it (make test)
        try:
            yield Rig(server, NfsClient(ns.client_netns), SqlAlchemyDatabase(engine), tmp / "shares", tmp)
        finally:
            server.stop()
            engine.dispose()


def test_a_share_with_no_rule_is_not_mountable(rig: Rig) -> None:
    rig.apply({"s1": []})
    assert rig.server.pid() is not None  # started, with only the placeholder export
    assert refused_mount(rig.client.ls("/shares/s1"))
    assert refused_mount(rig.client.ls("/lockstep"))  # the placeholder lets nobody in


def test_a_rule_for_another_address_does_not_let_the_client_in(rig: Rig) -> None:
    rig.apply({"s1": [Rule("r1", STRANGER_IP), Rule("r2", "10.231.2.0/24", "ro")]})
    assert refused_mount(rig.client.ls("/shares/s1"))


def test_an_rw_rule_lets_the_client_write_a_file_that_appears_in_the_share(rig: Rig) -> None:
    rig.apply({"s1": [Rule("r1", CLIENT_IP)]})
    result = rig.client.put(rig.local_file("hello.txt", b"hello over NFS\n"), "/shares/s1", "hello.txt")
    assert result.returncode == 0, result.stderr
    assert (rig.share_dir("s1") / "hello.txt").read_bytes() == b"hello over NFS\n"
    listing = rig.client.ls("/shares/s1")
    assert listing.returncode == 0 and "hello.txt" in listing.stdout


def test_switched_to_ro_reads_work_and_writes_are_refused(rig: Rig) -> None:
    rig.apply({"s1": [Rule("r1", CLIENT_IP, "ro")]})
    read = rig.client.cat("/shares/s1", "hello.txt")
    assert read.returncode == 0 and read.stdout == "hello over NFS\n", read.stderr
    assert refused_write(rig.client.put(rig.local_file("more.txt", b"x"), "/shares/s1", "more.txt"))
    assert not (rig.share_dir("s1") / "more.txt").exists()


def test_ro_wins_where_the_client_matches_both_and_overlapping_shares_keep_their_own_rules(rig: Rig) -> None:
    rig.apply({"s1": [Rule("r1", CLIENT_IP, "rw"), Rule("r2", "10.231.1.0/24", "ro")],
               "s2": [Rule("r3", "10.231.1.0/24", "rw"), Rule("r4", "10.231.0.0/16", "rw")]})
    assert refused_write(rig.client.put(rig.local_file("a.txt", b"a"), "/shares/s1", "a.txt"))
    wrote = rig.client.put(rig.local_file("b.txt", b"b"), "/shares/s2", "b.txt")
    assert wrote.returncode == 0, wrote.stderr
    assert (rig.share_dir("s2") / "b.txt").read_bytes() == b"b"


def test_deny_refuses_the_mount_while_the_server_runs(rig: Rig) -> None:
    pid = rig.server.pid()
    rig.apply({"s1": [], "s2": []})  # every export gone: Ganesha reloads the placeholder alone
    assert refused_mount(rig.client.ls("/shares/s1"))
    assert refused_mount(rig.client.ls("/shares/s2"))
    assert rig.server.pid() == pid  # reloaded, not restarted


def test_a_configuration_written_by_a_process_that_died_before_telling_ganesha_is_loaded_at_restart(
        rig: Rig) -> None:
    rig.apply({"s1": [Rule("r1", CLIENT_IP, "ro")]})
    assert refused_write(rig.client.put(rig.local_file("d.txt", b"d"), "/shares/s1", "d.txt"))
    wanted = rig.exports({"s1": [Rule("r1", CLIENT_IP, "rw")]})
    assert rig.server.write_config(wanted)  # ... and the process dies here, before the SIGHUP
    assert refused_write(rig.client.put(rig.local_file("d.txt", b"d"), "/shares/s1", "d.txt"))
    restarted = GaneshaServer(rig.server.settings)  # the next process finds the running Ganesha
    assert restarted.pid() == rig.server.pid()
    restarted.apply(wanted)  # the same file: it must still be read
    wrote = rig.client.put(rig.local_file("d.txt", b"d"), "/shares/s1", "d.txt")
    assert wrote.returncode == 0, wrote.stderr


def _export_ids(config: Path) -> list[str]:
    return [line.split("=")[1].strip(" ;") for line in config.read_text().splitlines() if "Export_Id" in line]


def test_after_ganesha_is_killed_the_exports_come_back_with_the_same_ids(rig: Rig) -> None:
    rig.apply({"s1": [Rule("r1", CLIENT_IP)], "s2": [Rule("r2", CLIENT_IP, "ro")]})
    ids = _export_ids(rig.server.settings.config_path)
    with rig.db.read() as uow:
        assert ids[1:] == [str(uow.export_ids.find("s1")), str(uow.export_ids.find("s2"))]
    pid = rig.server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while rig.server.pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rig.server.ensure_running()  # the supervisor's check: dead, so started again
    assert rig.server.pid() not in (None, pid)
    rig.apply({"s1": [Rule("r1", CLIENT_IP)], "s2": [Rule("r2", CLIENT_IP, "ro")]})  # from the database again
    assert _export_ids(rig.server.settings.config_path) == ids
    read = rig.client.cat("/shares/s1", "hello.txt")
    assert read.returncode == 0 and read.stdout == "hello over NFS\n", read.stderr
    assert refused_write(rig.client.put(rig.local_file("c.txt", b"c"), "/shares/s2", "c.txt"))


def test_an_export_ganesha_cannot_serve_is_reported_and_the_others_are_served(rig: Rig) -> None:
    """No false `active`: Ganesha reads the whole list and refuses an export whose directory it cannot
    resolve; apply names it, and serves the rest."""
    exports = rig.exports({"s1": [Rule("r1", CLIENT_IP)]})
    with rig.db.write() as uow:
        missing = Export(uow.export_ids.allocate("s-gone"), str(rig.tmp / "no-such-dir"), "/shares/s-gone",
                         exports[0].clients)
        uow.commit()
    assert rig.server.apply([*exports, missing]) == {"/shares/s-gone"}
    read = rig.client.cat("/shares/s1", "hello.txt")
    assert read.returncode == 0, read.stderr
    assert rig.server.apply(exports) == set()


def test_a_clean_stop_leaves_an_operators_ganesha_serving_and_says_what_stays_mounted(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """With `nfs_ganesha_pidfile` the Ganesha is the operator's: a clean stop of Lockstep neither stops it
    nor takes the bind mounts it serves from, and one log line says what that keeps mounted."""
    rig.apply({"s1": [Rule("r1", CLIENT_IP)]})
    pid = rig.server.pid()
    binds = rig.server.settings.state_dir / "binds"
    before = binds.read_text() if binds.exists() else None
    binds.write_text(f"{rig.share_dir('s1')}\n")  # as a btrfs share's export would have recorded
    try:
        operators = GaneshaServer(replace(rig.server.settings, attach_pidfile=rig.server.settings.pid_path))
        with caplog.at_level(logging.WARNING, logger="lockstep.nfs"):
            operators.close()
        assert rig.server.pid() == pid and operators.pid() == pid
        read = rig.client.cat("/shares/s1", "hello.txt")
        assert read.returncode == 0, read.stderr
        assert binds.read_text() == f"{rig.share_dir('s1')}\n"
        (line,) = [r.getMessage() for r in caplog.records if r.name == "lockstep.nfs"]
        assert str(rig.server.settings.pid_path) in line and str(binds) in line and "stays mounted" in line, line
    finally:
        if before is None:
            binds.unlink()
        else:
            binds.write_text(before)
