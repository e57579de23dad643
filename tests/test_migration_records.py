"""Migration 0007_records: existing share networks get a default subnet holding their fields, and back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from lockstep.adapters.db import tables
from lockstep.adapters.db.engine import make_engine
from lockstep.adapters.db.migrate import alembic_config, upgrade
from tests.support import database

FIELDS = {"neutron_net_id": "net-1", "neutron_subnet_id": "sub-1", "network_type": "vlan", "segmentation_id": 7,
          "cidr": "10.0.0.0/24", "ip_version": 4, "gateway": "10.0.0.1", "mtu": 1500}
CREATED = dt.datetime(2020, 1, 2, 3, 4, 5, 600000)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_existing_networks_get_a_default_subnet(kind: str, tmp_path: Path) -> None:
    with database(kind, tmp_path) as url:
        upgrade(url, "0002")
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(
                    "INSERT INTO share_networks (id, project_id, user_id, name, description, neutron_net_id, "
                    "neutron_subnet_id, network_type, segmentation_id, cidr, ip_version, gateway, mtu, created_at) "
                    "VALUES ('n1', 'p', 'u', 'old', NULL, :neutron_net_id, :neutron_subnet_id, :network_type, "
                    ":segmentation_id, :cidr, :ip_version, :gateway, :mtu, :created)"), {**FIELDS, "created": CREATED})
                conn.execute(sa.text("INSERT INTO share_networks (id, project_id, user_id, created_at) "
                                     "VALUES ('n2', 'p', 'u', :created)"), {"created": CREATED})
            upgrade(url)
            with engine.connect() as conn:
                subnets = {r["share_network_id"]: dict(r) for r in conn.execute(
                    sa.select(tables.share_network_subnets)).mappings()}
                rows = conn.execute(sa.text("SELECT id, status FROM share_networks"))
                statuses = {str(r[0]): str(r[1]) for r in rows}
            assert set(subnets) == {"n1", "n2"}
            assert {k: subnets["n1"][k] for k in FIELDS} == FIELDS
            assert subnets["n1"]["availability_zone"] is None and subnets["n1"]["created_at"] == CREATED
            assert all(subnets["n2"][k] is None for k in FIELDS)
            assert statuses == {"n1": "active", "n2": "active"}

            command.downgrade(alembic_config(url), "0002")
            with engine.connect() as conn:
                row = conn.execute(sa.text("SELECT * FROM share_networks WHERE id = 'n1'")).mappings().one()
            assert {k: row[k] for k in FIELDS} == FIELDS
        finally:
            engine.dispose()
