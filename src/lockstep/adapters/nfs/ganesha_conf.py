"""A complete ganesha.conf from a set of exports. Pure: the same exports always give the same text.

The text is NFS-Ganesha's own syntax, so it lives with the adapter; what the exports contain (which
clients, in which order, with which access) is decided in `lockstep.domain.exports`.

Every export allows NFSv3 and NFSv4 over TCP with AUTH_SYS and no root squash (Manila's NFS
semantics); clients not listed get nothing (`Access_Type = None` on the export itself). With
`Mount_Path_Pseudo` an NFSv3 client mounts the same pseudo path an NFSv4 client sees, so one export
location serves both. A placeholder export that nobody may mount is always present: Ganesha is never
asked to reload an empty export list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lockstep.domain.exports import PLACEHOLDER_EXPORT_ID, Export, ExportAccess, ExportClients

PLACEHOLDER_PSEUDO = "/lockstep"


@dataclass(frozen=True)
class ServerSettings:
    """The server-wide part of the configuration."""

    state_dir: Path  # holds the placeholder directory and NFSv4 recovery state
    nfs_port: int = 2049
    mount_port: int = 20048
    bind_address: str | None = None  # None: every address of the host

    @property
    def placeholder_dir(self) -> Path:
        return self.state_dir / "placeholder"

    @property
    def recovery_dir(self) -> Path:
        return self.state_dir / "recovery"


class ConfigError(ValueError):
    """The exports cannot be written as one valid configuration (a bug upstream, or a bad path)."""


def _quoted(value: str) -> str:
    if any(c in value for c in '"\\\n\r'):
        raise ConfigError(f"an export path may not contain quotes, backslashes or line breaks: {value!r}")
    return f'"{value}"'


def _core(settings: ServerSettings) -> list[str]:
    lines = [
        "NFS_CORE_PARAM {",
        "    Protocols = 3, 4;",
        f"    NFS_Port = {settings.nfs_port};",
        f"    MNT_Port = {settings.mount_port};",
        "    Mount_Path_Pseudo = true;",
        "    Enable_NLM = false;",
        "    Enable_RQUOTA = false;",
    ]
    if settings.bind_address:
        lines.append(f"    Bind_addr = {settings.bind_address};")
    lines += [
        "}",
        "NFSV4 {",
        "    Graceless = true;",  # a restarted server serves at once; clients re-open what they had
        "    RecoveryBackend = fs;",
        f"    RecoveryRoot = {_quoted(str(settings.recovery_dir))};",
        "}",
        "NFS_KRB5 {",
        "    Active_krb5 = false;",
        "}",
    ]
    return lines


def _export(export: Export) -> list[str]:
    lines = [
        "EXPORT {",
        f"    Export_Id = {export.export_id};",
        f"    Path = {_quoted(export.path)};",
        f"    Pseudo = {_quoted(export.pseudo)};",
        "    Protocols = 3, 4;",
        "    Transports = TCP;",
        "    SecType = sys;",
        "    Squash = No_Root_Squash;",
        "    Access_Type = None;",
        "    FSAL {",
        "        Name = VFS;",
        "    }",
    ]
    grouped = ExportClients(export.clients, {})
    for access in (ExportAccess.RO, ExportAccess.RW):  # the first entry an address matches decides: ro first
        clients = grouped.of(access)
        if clients:
            lines += [
                "    CLIENT {",
                f"        Clients = {', '.join(c.spelling for c in clients)};",
                f"        Access_Type = {access.upper()};",
                "    }",
            ]
    lines.append("}")
    return lines


def _placeholder(settings: ServerSettings) -> Export:
    return Export(export_id=PLACEHOLDER_EXPORT_ID, path=str(settings.placeholder_dir), pseudo=PLACEHOLDER_PSEUDO,
                  clients=())


def render(exports: Iterable[Export], settings: ServerSettings) -> str:
    """The whole configuration; exports in export id order after the placeholder."""
    ordered = sorted(exports, key=lambda e: e.export_id)
    ids = [e.export_id for e in ordered]
    pseudos = [e.pseudo for e in ordered] + [PLACEHOLDER_PSEUDO]
    if len(set(ids)) != len(ids) or PLACEHOLDER_EXPORT_ID in ids or not all(0 < i for i in ids):
        raise ConfigError(f"export ids must be unique, positive and not {PLACEHOLDER_EXPORT_ID}: {ids}")
    if len(set(pseudos)) != len(pseudos):
        raise ConfigError(f"two exports have the same pseudo path: {sorted(pseudos)}")
    lines = ["# Written by Lockstep from its database; edits are overwritten at the next change.", *_core(settings)]
    for export in (_placeholder(settings), *ordered):
        lines += _export(export)
    return "\n".join(lines) + "\n"
