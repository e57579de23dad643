"""The NFS front end of a worker's local backends: one NFS server exports every share that has rules.

Each change re-derives the whole export list from the database (every share on this worker's
backends with rules the backend must enforce) and hands it to the server, under one lock, so that the
last list applied is never older than the last rule change recorded. The worker applies it at start
(exports come back after a restart of either process) and checks at intervals that the server runs.

The server (`NfsServer`) is an adapter (NFS-Ganesha); its failures are `DriverError`s, so a rule it
could not apply goes to `error` with a user message like any refused rule.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from lockstep.domain.access import ENFORCED
from lockstep.domain.exports import Export, Grant, export_clients, export_for, pseudo_path, snapshot_pseudo_path
from lockstep.domain.model import Share, Status
from lockstep.service.storage import AccessResult, AccessRuleSpec, DriverError
from lockstep.service.unit_of_work import Database, UnitOfWork

log = logging.getLogger("lockstep.nfs")

NO_DIRECTORY = "this share's backend has no local directory that NFS can export"
NO_SNAPSHOT_DIRECTORY = ("this snapshot has no local directory that NFS can export (it was taken while NFS was "
                         "off, or its backend keeps snapshots where NFS cannot reach them)")
SUPERVISE_INTERVAL = 5.0  # seconds between checks that the NFS server still runs


class Availability(Protocol):
    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


class NfsServer(Protocol):
    def availability(self) -> Availability: ...

    def apply(self, exports: Sequence[Export]) -> set[str]:
        """Serve exactly these exports (start the server if it does not run); returns the pseudo paths of
        the exports it refused to serve. Raises DriverError."""

    def ensure_running(self) -> bool:
        """Start the server again if it died; True if it had to."""

    def stop(self) -> None:
        """Stop the processes this server started."""

    def close(self) -> None:
        """A clean stop of the worker: stop what Lockstep runs and release what holds the exported file
        systems (an operator's server is left serving). Raises nothing: it logs what it leaves."""


@dataclass(frozen=True)
class Served:
    """What one reconcile left the NFS server serving: every export but the `refused` pseudo paths."""

    refused: frozenset[str]
    why: str = ("the NFS server could not export this directory (its log says why: an operator should look); "
                "deny the rule and allow it again once that is fixed")


def local_path(share: Share) -> str | None:
    """The share's directory on this host: its export location that is an absolute path."""
    for location in share.export_locations:
        if location.path.startswith("/"):
            return location.path
    return None


@dataclass
class NfsExports:
    db: Database
    server: NfsServer
    address: str  # the address clients mount from: export locations are `<address>:<pseudo path>`
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _last_check: float = field(default=float("-inf"), init=False)

    def location(self, share_id: str) -> str:
        return self._at(pseudo_path(share_id))

    def snapshot_location(self, target_id: str) -> str:
        """Where clients mount a snapshot or cgsnapshot member (read-only) once a rule lets them."""
        return self._at(snapshot_pseudo_path(target_id))

    def _at(self, pseudo: str) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{pseudo}"

    def capabilities(self) -> dict[str, object]:
        """What a pool of a backend behind this server says in /scheduler-stats."""
        available = self.server.availability()
        return {"lockstep:access_enforced": available.ok, "lockstep:nfs": "ganesha" if available.ok
                else f"unavailable: {available.reason}"}

    def enforce(self, backends: Sequence[str], share: Share,
                rules: Sequence[AccessRuleSpec]) -> dict[str, AccessResult]:
        """Export `share` with exactly `rules` (and every other share with its own); one result per rule."""
        available = self.server.availability()
        if not available.ok:
            raise DriverError(str(available.reason))
        if local_path(share) is None:
            return {rule.id: AccessResult(applied=False, reason=NO_DIRECTORY) for rule in rules}
        refused = dict(export_clients(rules).refused)
        served = self.reconcile(backends, {share.id: [rule for rule in rules if rule.id not in refused]})
        if pseudo_path(share.id) in served.refused:
            refused.update({rule.id: served.why for rule in rules if rule.id not in refused})
        return {rule.id: AccessResult(applied=rule.id not in refused, reason=refused.get(rule.id)) for rule in rules}

    def enforce_snapshot(self, backends: Sequence[str], target_id: str,
                         rules: Sequence[AccessRuleSpec | Grant]) -> dict[str, AccessResult]:
        """Export a snapshot or cgsnapshot member read-only to exactly `rules`; one result per rule."""
        available = self.server.availability()
        if not available.ok:
            raise DriverError(str(available.reason))
        with self.db.read() as uow:
            exportable = target_id in uow.snapshot_access.directories([target_id])
        if not exportable:
            return {rule.id: AccessResult(applied=False, reason=NO_SNAPSHOT_DIRECTORY) for rule in rules}
        refused = dict(export_clients(rules).refused)
        served = self.reconcile(backends, snapshots={target_id: [rule for rule in rules if rule.id not in refused]})
        if snapshot_pseudo_path(target_id) in served.refused:
            refused.update({rule.id: served.why for rule in rules if rule.id not in refused})
        return {rule.id: AccessResult(applied=rule.id not in refused, reason=refused.get(rule.id)) for rule in rules}

    def withdraw(self, backends: Sequence[str], share_id: str) -> None:
        """Before a share's storage goes: no export of it remains (nothing to do where no server runs)."""
        if self.server.availability().ok:
            self.reconcile(backends, {share_id: []})

    def refresh(self, backends: Sequence[str]) -> None:
        """Before a snapshot's or cgsnapshot's storage goes (it is `deleting`, so it is no longer exported):
        serve the database's exports (nothing to do where no server runs)."""
        if self.server.availability().ok:
            self.reconcile(backends)

    def reconcile(self, backends: Sequence[str], override: Mapping[str, Sequence[Grant]] | None = None, *,
                  snapshots: Mapping[str, Sequence[Grant]] | None = None) -> Served:
        """Make the server serve what the database says (with `override`'s rule sets for some shares and
        `snapshots`' for some snapshots or members)."""
        with self._lock:
            with self.db.write() as uow:
                exports = self._exports(uow, backends, override or {})
                exports += self._snapshot_exports(uow, backends, snapshots or {})
                uow.commit()  # the export ids allocated
            refused = self.server.apply(exports)
        if refused:
            log.error("the NFS server refused to serve %s; its log says why", ", ".join(sorted(refused)))
        return Served(frozenset(refused))

    @staticmethod
    def _exports(uow: UnitOfWork, backends: Sequence[str], override: Mapping[str, Sequence[Grant]]) -> list[Export]:
        rules: dict[str, Sequence[Grant]] = dict(uow.access_rules.by_share_on(backends, ENFORCED))
        rules.update(override)
        exports = []
        for share_id, grants in sorted(rules.items()):
            share = uow.shares.get(share_id)
            path = None if share is None or share.status == Status.DELETING else local_path(share)
            if path is None or not export_clients(grants).clients:
                continue  # gone or going, nowhere to export from, or nobody to export to: no export
            export = export_for(uow.export_ids.allocate(share_id), path, share_id, grants)
            if export is not None:
                exports.append(export)
        return exports

    @staticmethod
    def _snapshot_exports(uow: UnitOfWork, backends: Sequence[str],
                          override: Mapping[str, Sequence[Grant]]) -> list[Export]:
        """Read-only exports of the snapshots and cgsnapshot members that have rules (their rules are `ro`)."""
        rules: dict[str, Sequence[Grant]] = dict(uow.snapshot_access.by_target_on(backends, ENFORCED))
        rules.update(override)
        directories = uow.snapshot_access.directories(sorted(rules))
        exports = []
        for target_id, grants in sorted(rules.items()):
            path = directories.get(target_id)  # None: gone, being deleted, or nowhere to export from
            if path is None or not export_clients(grants).clients:
                continue
            export = export_for(uow.export_ids.allocate(target_id), path, target_id, grants,
                                pseudo=snapshot_pseudo_path(target_id))
            if export is not None:
                exports.append(export)
        return exports

    def close(self) -> None:
        """At the worker's clean stop (after its threads): the server stops, so the storage can be released."""
        with self._lock:
            try:
                self.server.close()
            except (DriverError, OSError) as exc:  # stopping goes on; the drivers' release says what stays
                log.warning("could not stop the NFS server cleanly: %s", exc)

    def supervise(self) -> None:
        """At most every few seconds: start the server again if it died (from the configuration on disk)."""
        if time.monotonic() - self._last_check < SUPERVISE_INTERVAL:
            return
        self._last_check = time.monotonic()
        try:
            with self._lock:
                self.server.ensure_running()
        except DriverError as exc:
            log.error("the NFS server is not running and could not be started: %s", exc)
