"""records: security services, share network subnets, snapshot export locations and metadata

A share network's network fields move into a default subnet (no availability zone), as Manila
moved them in 2.51; every existing network gets one holding its fields.

Revision ID: 0007_records
Revises: 0002
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_records"
down_revision = "0003_share_groups"
branch_labels = None
depends_on = None

_FIELDS = ("neutron_net_id", "neutron_subnet_id", "network_type", "segmentation_id", "cidr", "ip_version",
           "gateway", "mtu")


def _field_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("neutron_net_id", sa.String(length=36), nullable=True),
        sa.Column("neutron_subnet_id", sa.String(length=36), nullable=True),
        sa.Column("network_type", sa.String(length=32), nullable=True),
        sa.Column("segmentation_id", sa.Integer(), nullable=True),
        sa.Column("cidr", sa.String(length=64), nullable=True),
        sa.Column("ip_version", sa.Integer(), nullable=True),
        sa.Column("gateway", sa.String(length=64), nullable=True),
        sa.Column("mtu", sa.Integer(), nullable=True),
    ]


def upgrade() -> None:
    conn = op.get_bind()
    networks = sa.table("share_networks", sa.column("id", sa.String), sa.column("created_at", sa.DateTime),
                        sa.column("updated_at", sa.DateTime), *(sa.column(f) for f in _FIELDS))
    # Read before the table is rebuilt: on SQLite the rebuild drops the old table, which would
    # cascade to subnets already pointing at it.
    existing = [dict(r) for r in conn.execute(sa.select(networks)).mappings()]

    with op.batch_alter_table("share_networks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=32), nullable=False, server_default="active"))
        for name in _FIELDS:
            batch_op.drop_column(name)
    with op.batch_alter_table("share_networks", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)

    subnets = op.create_table(
        "share_network_subnets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("share_network_id", sa.String(length=36), nullable=False),
        sa.Column("availability_zone", sa.String(length=255), nullable=True),
        *_field_columns(),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["share_network_id"], ["share_networks.id"],
                                name=op.f("fk_share_network_subnets_share_network_id_share_networks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_network_subnets")),
    )
    with op.batch_alter_table("share_network_subnets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_network_subnets_share_network_id"), ["share_network_id"],
                              unique=False)
    assert subnets is not None
    if existing:
        op.bulk_insert(subnets, [
            {"id": str(uuid.uuid4()), "share_network_id": row["id"], "availability_zone": None,
             "created_at": row["created_at"], "updated_at": row["updated_at"], **{f: row[f] for f in _FIELDS}}
            for row in existing
        ])

    op.create_table(
        "share_network_subnet_metadata",
        sa.Column("share_network_subnet_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=1023), nullable=False),
        sa.ForeignKeyConstraint(["share_network_subnet_id"], ["share_network_subnets.id"],
                                name=op.f("fk_share_network_subnet_metadata_share_network_subnet_id_share_network_subnets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("share_network_subnet_id", "key", name=op.f("pk_share_network_subnet_metadata")),
    )
    op.create_table(
        "security_services",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("description", sa.String(length=255), nullable=True),
        sa.Column("dns_ip", sa.String(length=64), nullable=True),
        sa.Column("ou", sa.String(length=255), nullable=True),
        sa.Column("server", sa.String(length=255), nullable=True),
        sa.Column("domain", sa.String(length=255), nullable=True),
        sa.Column("user", sa.String(length=255), nullable=True),
        sa.Column("password", sa.String(length=255), nullable=True),
        sa.Column("default_ad_site", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_services")),
    )
    with op.batch_alter_table("security_services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_services_project_id"), ["project_id"], unique=False)
    op.create_table(
        "share_network_security_services",
        sa.Column("share_network_id", sa.String(length=36), nullable=False),
        sa.Column("security_service_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["security_service_id"], ["security_services.id"],
                                name=op.f("fk_share_network_security_services_security_service_id_security_services")),
        sa.ForeignKeyConstraint(["share_network_id"], ["share_networks.id"],
                                name=op.f("fk_share_network_security_services_share_network_id_share_networks"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("share_network_id", "security_service_id",
                                name=op.f("pk_share_network_security_services")),
    )
    with op.batch_alter_table("share_network_security_services", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_share_network_security_services_security_service_id"),
                              ["security_service_id"], unique=False)

    op.create_table(
        "snapshot_export_locations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("snapshot_id", sa.String(length=36), nullable=False),
        sa.Column("path", sa.String(length=2000), nullable=False),
        sa.Column("is_admin_only", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"],
                                name=op.f("fk_snapshot_export_locations_snapshot_id_snapshots"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshot_export_locations")),
    )
    with op.batch_alter_table("snapshot_export_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_snapshot_export_locations_snapshot_id"), ["snapshot_id"], unique=False)
    op.create_table(
        "snapshot_metadata",
        sa.Column("snapshot_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=1023), nullable=False),
        sa.ForeignKeyConstraint(["snapshot_id"], ["snapshots.id"],
                                name=op.f("fk_snapshot_metadata_snapshot_id_snapshots"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("snapshot_id", "key", name=op.f("pk_snapshot_metadata")),
    )


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_table("snapshot_metadata")
    with op.batch_alter_table("snapshot_export_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_snapshot_export_locations_snapshot_id"))
    op.drop_table("snapshot_export_locations")
    with op.batch_alter_table("share_network_security_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_network_security_services_security_service_id"))
    op.drop_table("share_network_security_services")
    with op.batch_alter_table("security_services", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_services_project_id"))
    op.drop_table("security_services")
    op.drop_table("share_network_subnet_metadata")

    # Each network keeps the fields of its oldest default subnet (what the view below 2.51 showed).
    subnets = sa.table("share_network_subnets", sa.column("share_network_id", sa.String),
                       sa.column("availability_zone", sa.String), sa.column("created_at", sa.DateTime),
                       sa.column("id", sa.String), *(sa.column(f) for f in _FIELDS))
    kept: dict[str, dict[str, Any]] = {}
    for row in conn.execute(sa.select(subnets).where(subnets.c.availability_zone.is_(None))
                            .order_by(subnets.c.created_at, subnets.c.id)).mappings():
        kept.setdefault(row["share_network_id"], {f: row[f] for f in _FIELDS})
    with op.batch_alter_table("share_network_subnets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_network_subnets_share_network_id"))
    op.drop_table("share_network_subnets")

    with op.batch_alter_table("share_networks", schema=None) as batch_op:
        for column in _field_columns():
            batch_op.add_column(column)
        batch_op.drop_column("status")
    networks = sa.table("share_networks", sa.column("id", sa.String), *(sa.column(f) for f in _FIELDS))
    for network_id, values in kept.items():
        conn.execute(sa.update(networks).where(networks.c.id == network_id).values(**values))
