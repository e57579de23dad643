"""Repositories of records that have no storage: security services, share network subnets, metadata."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Connection, RowMapping

from lockstep.adapters.db import filters
from lockstep.adapters.db import tables as t
from lockstep.adapters.db.common import chunks, load_subnets, write_metadata
from lockstep.adapters.db.repository import _Repo
from lockstep.domain.model import MetadataOwner, SecurityService, ShareNetworkSubnet
from lockstep.domain.queries import SecurityServiceQuery


class SecurityServiceRepo(_Repo):
    table = t.security_services

    @staticmethod
    def _to(r: RowMapping) -> SecurityService:
        return SecurityService(**{k: r[k] for k in SecurityService.__dataclass_fields__})

    def get(self, service_id: str, project_id: str | None = None) -> SecurityService | None:
        query = select(t.security_services).where(t.security_services.c.id == service_id)
        if project_id is not None:
            query = query.where(t.security_services.c.project_id == project_id)
        row = self.conn.execute(query).mappings().first()
        return self._to(row) if row else None

    def find(self, query: SecurityServiceQuery) -> list[SecurityService]:
        rows = select(t.security_services).where(*filters.security_services(query)).order_by(
            t.security_services.c.created_at, t.security_services.c.id
        ).offset(query.offset).limit(query.limit)
        return [self._to(r) for r in self.conn.execute(rows).mappings()]

    def of_network(self, network_id: str) -> list[SecurityService]:
        links = t.share_network_security_services
        rows = self.conn.execute(
            select(t.security_services)
            .join(links, links.c.security_service_id == t.security_services.c.id)
            .where(links.c.share_network_id == network_id)
            .order_by(links.c.created_at, t.security_services.c.id)
        ).mappings()
        return [self._to(r) for r in rows]

    def networks(self, service_ids: list[str], project_id: str | None = None) -> dict[str, list[str]]:
        """The networks each service is linked to (only `project_id`'s networks when given)."""
        links = t.share_network_security_services
        found: dict[str, list[str]] = {i: [] for i in service_ids}
        for part in chunks(service_ids):
            query = (select(links.c.security_service_id, links.c.share_network_id)
                     .join(t.share_networks, t.share_networks.c.id == links.c.share_network_id)
                     .where(links.c.security_service_id.in_(part))
                     .order_by(links.c.created_at, links.c.share_network_id))
            if project_id is not None:
                query = query.where(t.share_networks.c.project_id == project_id)
            for service_id, network_id in self.conn.execute(query):
                found[service_id].append(network_id)
        return found

    def count_networks(self, service_id: str) -> int:
        links = t.share_network_security_services
        return int(self.conn.execute(
            select(func.count()).select_from(links).where(links.c.security_service_id == service_id)
        ).scalar_one())


class ShareNetworkSubnetRepo(_Repo):
    table = t.share_network_subnets

    def get(self, subnet_id: str) -> ShareNetworkSubnet | None:
        found = load_subnets(self.conn, t.share_network_subnets.c.id == subnet_id)
        return found[0] if found else None


# Which table holds each kind of record's metadata, and the column naming the record.
_METADATA: dict[MetadataOwner, tuple[Table, str]] = {
    MetadataOwner.SHARE: (t.share_metadata, "share_id"),
    MetadataOwner.SNAPSHOT: (t.snapshot_metadata, "snapshot_id"),
    MetadataOwner.SUBNET: (t.share_network_subnet_metadata, "share_network_subnet_id"),
}


class MetadataRepo:
    """Key/value metadata of shares, snapshots and share network subnets."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def get(self, owner: MetadataOwner, owner_id: str) -> dict[str, str]:
        table, column = _METADATA[owner]
        rows = self.conn.execute(select(table.c.key, table.c.value).where(table.c[column] == owner_id)
                                 .order_by(table.c.key))
        return {key: value for key, value in rows}

    def set(self, owner: MetadataOwner, owner_id: str, metadata: Mapping[str, str], *, replace: bool) -> None:
        table, column = _METADATA[owner]
        write_metadata(self.conn, table, column, owner_id, metadata, replace=replace)

    def delete(self, owner: MetadataOwner, owner_id: str, key: str) -> bool:
        table, column = _METADATA[owner]
        return self.conn.execute(delete(table).where(table.c[column] == owner_id, table.c.key == key)).rowcount == 1
