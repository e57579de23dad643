"""What a share's access rules mean for its NFS export (Manila's semantics), and the Ganesha
configuration rendered from the exports. Pure code: no server runs here (tests/nfs/ runs one)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import pytest

from lockstep.adapters.nfs.ganesha_conf import ConfigError, ServerSettings, render
from lockstep.domain.exports import (
    PLACEHOLDER_EXPORT_ID,
    Export,
    ExportAccess,
    ExportClient,
    export_clients,
    export_for,
)


@dataclass(frozen=True)
class Rule:
    id: str
    access_to: str
    access_level: str = "rw"
    access_type: str = "ip"


def _spelled(rules: list[Rule]) -> list[tuple[str, str]]:
    return [(c.spelling, c.access) for c in export_clients(rules).clients]


def test_a_share_with_no_rules_has_no_export() -> None:
    assert export_for(7, "/data/s", "s", []) is None
    assert export_for(7, "/data/s", "s", [Rule("r1", "alice", access_type="user")]) is None


def test_an_export_carries_the_path_pseudo_path_and_clients() -> None:
    export = export_for(7, "/data/s", "s", [Rule("r1", "10.0.0.5")])
    assert export == Export(7, "/data/s", "/shares/s",
                            (ExportClient(ipaddress.ip_network("10.0.0.5/32"), ExportAccess.RW),))


def test_read_only_comes_first_so_it_wins_where_an_address_matches_both() -> None:
    rules = [Rule("r1", "10.0.0.0/24", "rw"), Rule("r2", "10.0.0.7", "ro"), Rule("r3", "10.9.0.0/16", "ro"),
             Rule("r4", "10.0.0.1", "rw")]
    assert _spelled(rules) == [("10.0.0.7", "ro"), ("10.9.0.0/16", "ro"), ("10.0.0.0/24", "rw"), ("10.0.0.1", "rw")]


def test_the_same_network_granted_ro_and_rw_is_read_only_in_either_order() -> None:
    assert _spelled([Rule("r1", "10.0.0.0/24", "rw"), Rule("r2", "10.0.0.0/24", "ro")]) == [("10.0.0.0/24", "ro")]
    assert _spelled([Rule("r2", "10.0.0.0/24", "ro"), Rule("r1", "10.0.0.0/24", "rw")]) == [("10.0.0.0/24", "ro")]


def test_ipv6_hosts_and_networks_follow_ipv4_and_hosts_are_bare_addresses() -> None:
    rules = [Rule("r1", "2001:db8::/64"), Rule("r2", "2001:db8::1/128"), Rule("r3", "192.168.1.0/24"),
             Rule("r4", "0.0.0.0/0", "ro")]
    assert _spelled(rules) == [("0.0.0.0/0", "ro"), ("192.168.1.0/24", "rw"), ("2001:db8::/64", "rw"),
                               ("2001:db8::1", "rw")]


def test_the_order_does_not_depend_on_the_order_of_the_rules() -> None:
    rules = [Rule("a", "10.0.0.3"), Rule("b", "10.0.0.1", "ro"), Rule("c", "10.0.0.2"), Rule("d", "fd00::1")]
    assert _spelled(rules) == _spelled(list(reversed(rules)))


def test_rules_an_export_cannot_carry_are_refused_with_a_reason_and_do_not_block_the_others() -> None:
    result = export_clients([Rule("r1", "alice", access_type="user"), Rule("r2", "10.0.0.1"),
                             Rule("r3", "not-an-address"), Rule("r4", "10.0.0.2", "rx")])
    assert [c.spelling for c in result.clients] == ["10.0.0.1"]
    assert set(result.refused) == {"r1", "r3", "r4"}
    assert "'ip' rules only" in result.refused["r1"]


def _settings(tmp_path: Path) -> ServerSettings:
    return ServerSettings(state_dir=tmp_path / "nfs", nfs_port=2049, mount_port=20048)


def _export(export_id: int, target: str, rules: list[Rule]) -> Export:
    export = export_for(export_id, f"/srv/{target}", target, rules)
    assert export is not None
    return export


def test_the_configuration_lists_the_placeholder_then_exports_by_id(tmp_path: Path) -> None:
    text = render([_export(9, "b", [Rule("r", "10.0.0.1")]), _export(3, "a", [Rule("r", "10.0.0.2")])],
                  _settings(tmp_path))
    ids = [line.split("=")[1].strip(" ;") for line in text.splitlines() if "Export_Id" in line]
    assert ids == [str(PLACEHOLDER_EXPORT_ID), "3", "9"]
    assert text.count("Squash = No_Root_Squash;") == 3
    assert text.count("Access_Type = None;") == 3  # nobody not listed, and nobody at all on the placeholder
    assert "Mount_Path_Pseudo = true;" in text and "Protocols = 3, 4;" in text
    assert 'Path = "/srv/a";\n    Pseudo = "/shares/a";' in text


def test_an_export_renders_read_only_clients_before_read_write_ones(tmp_path: Path) -> None:
    text = render([_export(3, "a", [Rule("r1", "10.0.0.0/24"), Rule("r2", "10.0.0.9", "ro"),
                                     Rule("r3", "fd00::/8")])], _settings(tmp_path))
    ro = text.index("Clients = 10.0.0.9;\n        Access_Type = RO;")
    rw = text.index("Clients = 10.0.0.0/24, fd00::/8;\n        Access_Type = RW;")
    assert ro < rw


def test_the_same_exports_always_render_the_same_text(tmp_path: Path) -> None:
    exports = [_export(3, "a", [Rule("r1", "10.0.0.1"), Rule("r2", "10.0.0.2", "ro")]),
               _export(4, "b", [Rule("r3", "10.0.0.3")])]
    assert render(exports, _settings(tmp_path)) == render(list(reversed(exports)), _settings(tmp_path))


@pytest.mark.parametrize("exports", [
    [Export(3, "/a", "/shares/a", ()), Export(3, "/b", "/shares/b", ())],
    [Export(PLACEHOLDER_EXPORT_ID, "/a", "/shares/a", ())],
    [Export(3, "/a", "/shares/a", ()), Export(4, "/b", "/shares/a", ())],
    [Export(3, '/a"b', "/shares/a", ())],
])
def test_exports_that_cannot_be_one_configuration_are_refused(exports: list[Export], tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        render(exports, _settings(tmp_path))
