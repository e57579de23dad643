"""NFS exports: what a share's access rules mean for the clients of its export. Pure: no I/O.

Manila's semantics for the `ip` access type: a rule names an IPv4 or IPv6 host or network and
grants `rw` or `ro`; the whole rule set of a share is enforced at once; an address that matches a
`ro` rule reads only, even where an `rw` rule matches it too (a host inside an `rw` network, or
the same network granted twice); a share with no rule has no export at all, so nobody can mount it.

The clients come out in the order the NFS server must try them: every `ro` network first, then
every `rw` network (NFS-Ganesha gives an address the access of the first client entry it matches,
so this order is what makes `ro` win). Within one level they are sorted, so the same rules always
give the same configuration.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from lockstep.domain.access import AccessType

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Export ids are 16-bit in NFS-Ganesha, 0 is its pseudo root, and this one is kept for the
#: placeholder export that keeps the export list from ever being empty (reloading an empty list
#: has crashed Ganesha). Shares get ids from 1 up to one below it, each once, never reused.
PLACEHOLDER_EXPORT_ID = 65535
MAX_SHARE_EXPORT_ID = PLACEHOLDER_EXPORT_ID - 1
#: Where shares appear in the server's NFSv4 pseudo file system (and, with Mount_Path_Pseudo, for v3).
PSEUDO_ROOT = "/shares"
#: Where snapshots and cgsnapshot members appear (read-only, 2.32), each under its own id.
SNAPSHOT_PSEUDO_ROOT = "/snapshots"


class ExportAccess(enum.StrEnum):
    RO = "ro"
    RW = "rw"


class Grant(Protocol):
    """What the export needs of an access rule (an `AccessRule` or a driver's `AccessRuleSpec`)."""

    @property
    def id(self) -> str: ...

    @property
    def access_type(self) -> str: ...

    @property
    def access_to(self) -> str: ...

    @property
    def access_level(self) -> str: ...


@dataclass(frozen=True)
class ExportClient:
    network: IpNetwork
    access: ExportAccess

    @property
    def spelling(self) -> str:
        """A host as a bare address, a network as address/prefix (both as NFS-Ganesha reads them)."""
        if self.network.prefixlen == self.network.max_prefixlen:
            return str(self.network.network_address)
        return str(self.network)


@dataclass(frozen=True)
class ExportClients:
    """The client entries of one share's export, in match order, and the rules an export cannot carry."""

    clients: tuple[ExportClient, ...]
    refused: Mapping[str, str]  # rule id -> why

    def of(self, access: ExportAccess) -> list[ExportClient]:
        return [client for client in self.clients if client.access == access]


@dataclass(frozen=True)
class Export:
    """One export of the NFS server: a directory, its pseudo path, and who may mount it how."""

    export_id: int
    path: str
    pseudo: str
    clients: tuple[ExportClient, ...]


def pseudo_path(target_id: str) -> str:
    return f"{PSEUDO_ROOT}/{target_id}"


def snapshot_pseudo_path(target_id: str) -> str:
    return f"{SNAPSHOT_PSEUDO_ROOT}/{target_id}"


def export_clients(rules: Iterable[Grant]) -> ExportClients:
    """The clients an export must list for these rules (the rules a backend must enforce)."""
    levels: dict[IpNetwork, ExportAccess] = {}
    refused: dict[str, str] = {}
    for rule in rules:
        why = _why_not(rule)
        if why is not None:
            refused[rule.id] = why
            continue
        network = ipaddress.ip_network(rule.access_to, strict=False)
        if levels.get(network) != ExportAccess.RO:  # the same network granted ro and rw: ro
            levels[network] = ExportAccess(rule.access_level)
    ordered = sorted(levels.items(), key=lambda item: (item[1] != ExportAccess.RO, item[0].version,
                                                       item[0].network_address, item[0].prefixlen))
    return ExportClients(tuple(ExportClient(network, access) for network, access in ordered), refused)


def _why_not(rule: Grant) -> str | None:
    if rule.access_type != AccessType.IP:
        return f"NFS exports enforce 'ip' rules only, not '{rule.access_type}'; deny it and grant an 'ip' rule."
    if rule.access_level not in tuple(ExportAccess):
        return f"unknown access level '{rule.access_level}'; grant 'rw' or 'ro'."
    try:
        ipaddress.ip_network(rule.access_to, strict=False)
    except ValueError:
        return f"'{rule.access_to}' is not an IP address or network; deny it and grant a valid one."
    return None


def export_for(export_id: int, path: str, target_id: str, rules: Iterable[Grant], *,
               pseudo: str | None = None) -> Export | None:
    """The export of a share, or of a snapshot at its own `pseudo` path (None when no rule grants anyone
    access: no rule, no export)."""
    clients = export_clients(rules).clients
    if not clients:
        return None
    return Export(export_id=export_id, path=path, pseudo=pseudo or pseudo_path(target_id), clients=clients)
