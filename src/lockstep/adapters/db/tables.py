"""The schema, as SQLAlchemy Core tables. Alembic migrations are checked against it in CI."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column[str]:
    return Column("id", String(36), primary_key=True)


def _times() -> list[Column[object]]:
    return [
        Column("created_at", DateTime, nullable=False),
        Column("updated_at", DateTime, nullable=True),
    ]


share_types = Table(
    "share_types",
    metadata,
    _id(),
    Column("name", String(255), nullable=False),
    Column("is_public", Boolean, nullable=False, default=True),
    *_times(),
    Column("description", String(255)),  # 2.41
    UniqueConstraint("name"),
)

share_type_extra_specs = Table(
    "share_type_extra_specs",
    metadata,
    Column("share_type_id", String(36), ForeignKey("share_types.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(1023), nullable=False),
)

share_type_projects = Table(
    "share_type_projects",
    metadata,
    Column("share_type_id", String(36), ForeignKey("share_types.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", String(255), primary_key=True),
)

share_networks = Table(
    "share_networks",
    metadata,
    _id(),
    Column("project_id", String(255), nullable=False, index=True),
    Column("user_id", String(255), nullable=False),
    Column("name", String(255)),
    Column("description", String(255)),
    # The network fields live in its subnets (share_network_subnets), as in Manila from 2.51.
    Column("status", String(32), nullable=False, default="active"),
    *_times(),
)

consistency_groups = Table(
    "consistency_groups",
    metadata,
    _id(),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("name", String(255)),
    Column("description", String(255)),
    Column("status", String(255), nullable=False),
    Column("host", String(255)),
    Column("source_cgsnapshot_id", String(36)),
    Column("share_network_id", String(36), index=True),
    Column("share_server_id", String(36)),
    *_times(),
    # Share groups (2.31+) are the same records: their group type, zone and snapshot guarantee.
    Column("share_group_type_id", String(36), index=True),
    Column("availability_zone", String(255)),
    Column("consistent_snapshot_support", String(32)),
    Index("ix_consistency_groups_project_created", "project_id", "created_at", "id"),
    Index("ix_consistency_groups_created", "created_at", "id"),
)

consistency_group_share_types = Table(
    "consistency_group_share_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "consistency_group_id",
        String(36),
        ForeignKey("consistency_groups.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("share_type_id", String(36), nullable=False, index=True),
)

share_group_types = Table(
    "share_group_types",
    metadata,
    _id(),
    Column("name", String(255), nullable=False),
    Column("is_public", Boolean, nullable=False, default=True),
    *_times(),
    UniqueConstraint("name"),
)

share_group_type_specs = Table(
    "share_group_type_specs",
    metadata,
    Column("share_group_type_id", String(36), ForeignKey("share_group_types.id", ondelete="CASCADE"),
           primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(1023), nullable=False),
)

share_group_type_projects = Table(
    "share_group_type_projects",
    metadata,
    Column("share_group_type_id", String(36), ForeignKey("share_group_types.id", ondelete="CASCADE"),
           primary_key=True),
    Column("project_id", String(255), primary_key=True),
)

share_group_type_share_types = Table(
    "share_group_type_share_types",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("share_group_type_id", String(36), ForeignKey("share_group_types.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("share_type_id", String(36), nullable=False, index=True),
)

shares = Table(
    "shares",
    metadata,
    _id(),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("name", String(255)),
    Column("description", String(255)),
    Column("size", Integer, nullable=False),
    Column("share_proto", String(255), nullable=False),
    Column("status", String(255), nullable=False),
    Column("host", String(255), nullable=False, default="", index=True),  # placement counts per pool
    Column("availability_zone", String(255)),
    Column("share_type_id", String(36), index=True),
    Column("share_network_id", String(36), index=True),
    Column("snapshot_id", String(36), index=True),
    Column("is_public", Boolean, nullable=False, default=False),
    # No foreign key: force_delete of a group leaves its shares pointing at it, as in Manila.
    Column("consistency_group_id", String(36), index=True),
    Column("source_cgsnapshot_member_id", String(36)),
    Column("task_state", String(255)),
    Column("snapshot_support", Boolean, nullable=False, default=False),
    Column("create_share_from_snapshot_support", Boolean, nullable=False, default=False),
    Column("revert_to_snapshot_support", Boolean, nullable=False, default=False),
    *_times(),
    Column("progress", String(32)),  # 2.54: "100%" once created
    Column("is_soft_deleted", Boolean, nullable=False, default=False),  # 2.69: in the recycle bin
    Column("scheduled_to_be_deleted_at", DateTime),
    Column("snapshot_inherit_share_access_support", Boolean, nullable=False, default=False),  # 2.99
    Column("scheduler_hints", Text),  # 2.65/2.67: JSON, read when the share is placed
    Column("mount_snapshot_support", Boolean, nullable=False, default=False),  # 2.32: from its type
    Index("ix_shares_project_created", "project_id", "created_at", "id"),
    Index("ix_shares_created", "created_at", "id"),
)

share_metadata = Table(
    "share_metadata",
    metadata,
    Column("share_id", String(36), ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(1023), nullable=False),
)

export_locations = Table(
    "export_locations",
    metadata,
    _id(),
    Column("share_id", String(36), ForeignKey("shares.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("path", String(2000), nullable=False),
    Column("is_admin_only", Boolean, nullable=False, default=False),
    Column("preferred", Boolean, nullable=False, default=False),
    *_times(),
)

snapshots = Table(
    "snapshots",
    metadata,
    _id(),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("share_id", String(36), nullable=False, index=True),
    Column("name", String(255)),
    Column("description", String(255)),
    Column("size", Integer, nullable=False),
    Column("share_size", Integer, nullable=False),
    Column("share_proto", String(255), nullable=False),
    Column("status", String(255), nullable=False),
    Column("progress", String(255), nullable=False, default="0%"),
    Column("provider_location", String(255)),
    *_times(),
    Index("ix_snapshots_project_created", "project_id", "created_at", "id"),
    Index("ix_snapshots_created", "created_at", "id"),
)

cgsnapshots = Table(
    "cgsnapshots",
    metadata,
    _id(),
    Column("consistency_group_id", String(36), nullable=False, index=True),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("name", String(255)),
    Column("description", String(255)),
    Column("status", String(255), nullable=False),
    Column("cut_method", String(32)),
    Column("cut_spread_ms", Float),
    *_times(),
    Index("ix_cgsnapshots_project_created", "project_id", "created_at", "id"),
    Index("ix_cgsnapshots_created", "created_at", "id"),
)

cgsnapshot_members = Table(
    "cgsnapshot_members",
    metadata,
    _id(),
    Column("cgsnapshot_id", String(36), ForeignKey("cgsnapshots.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("share_id", String(36), nullable=False, index=True),
    Column("share_type_id", String(36)),
    Column("size", Integer, nullable=False),
    Column("share_proto", String(255), nullable=False),
    Column("status", String(255), nullable=False),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    *_times(),
)

# Access rules of a share; they go with it. `state` is the rule's own state; the share's
# access_rules_status is computed from its rules. The lock_* columns are the locks placed with the
# rule when it was granted (2.82), and who placed them.
access_rules = Table(
    "access_rules",
    metadata,
    _id(),
    Column("share_id", String(36), ForeignKey("shares.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("access_type", String(32), nullable=False),
    Column("access_to", String(255), nullable=False),
    Column("access_level", String(2), nullable=False),
    Column("state", String(32), nullable=False),
    Column("access_key", String(255)),
    Column("lock_deletion", Boolean, nullable=False, default=False),
    Column("lock_visibility", Boolean, nullable=False, default=False),
    Column("lock_user_id", String(255)),
    Column("lock_project_id", String(255)),
    Column("lock_by_admin", Boolean, nullable=False, default=False),
    Column("lock_reason", String(1023)),
    Column("share_lock_id", String(36)),
    *_times(),
)

access_rule_metadata = Table(
    "access_rule_metadata",
    metadata,
    Column("access_id", String(36), ForeignKey("access_rules.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(1023), nullable=False),
)

# Durable work: every asynchronous step is a row here, written in the same transaction as the
# status change that asks for it. Workers claim rows with a lease judged by the database's clock; a
# lease that runs out (the worker died or stopped) lets another worker claim the row again, and drivers
# are idempotent. `epoch` counts the claims: a worker writes only while the row still holds its epoch.
operations = Table(
    "operations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(64), nullable=False),
    Column("target_id", String(36), nullable=False, index=True),
    Column("backend", String(255), index=True),  # host@backend that must run it; NULL = any
    Column("state", String(16), nullable=False, index=True),  # pending | running | done | failed
    Column("owner", String(255)),
    Column("lease_expires_at", Float),
    Column("not_before", Float, nullable=False, default=0.0),
    Column("attempts", Integer, nullable=False, default=0),
    Column("payload", Text, nullable=False, default="{}"),
    Column("last_error", Text),
    *_times(),
    Column("request_id", String(255)),  # the request that asked for the work (user messages name it)
    Column("epoch", Integer, nullable=False, default=0, server_default="0"),  # claims so far: the fence
    Column("previous_owner", String(255)),  # who held it before the last claim (set: that claim took it over)
    # At most one running operation per share/group/snapshot, whatever the claims race.
    Index("uq_operations_running_target", "target_id", unique=True,
          sqlite_where=text("state = 'running'"), postgresql_where=text("state = 'running'")),
)

pools = Table(
    "pools",
    metadata,
    Column("name", String(255), primary_key=True),  # host@backend#pool
    Column("host", String(255), nullable=False),
    Column("backend", String(255), nullable=False),
    Column("pool", String(255), nullable=False),
    Column("capabilities", Text, nullable=False),
    Column("total_capacity_gb", Float, nullable=False),
    Column("free_capacity_gb", Float, nullable=False),
    # No longer read or written (provisioned capacity is counted from the share records); kept so that
    # no migration has to drop a column.
    Column("allocated_gb", Float, nullable=False, default=0.0),
    Column("updated_at", DateTime, nullable=False),
)


# Share network subnets, security services and their links: records only (no share servers).
share_network_subnets = Table(
    "share_network_subnets",
    metadata,
    _id(),
    Column("share_network_id", String(36), ForeignKey("share_networks.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("availability_zone", String(255)),  # NULL: the default subnet, serving every zone
    Column("neutron_net_id", String(36)),
    Column("neutron_subnet_id", String(36)),
    Column("network_type", String(32)),
    Column("segmentation_id", Integer),
    Column("cidr", String(64)),
    Column("ip_version", Integer),
    Column("gateway", String(64)),
    Column("mtu", Integer),
    *_times(),
)

share_network_subnet_metadata = Table(
    "share_network_subnet_metadata",
    metadata,
    Column("share_network_subnet_id", String(36), ForeignKey("share_network_subnets.id", ondelete="CASCADE"),
           primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(1023), nullable=False),
)

security_services = Table(
    "security_services",
    metadata,
    _id(),
    Column("project_id", String(255), nullable=False, index=True),
    Column("type", String(32), nullable=False),
    Column("name", String(255)),
    Column("description", String(255)),
    Column("dns_ip", String(64)),
    Column("ou", String(255)),
    Column("server", String(255)),
    Column("domain", String(255)),
    Column("user", String(255)),
    Column("password", String(255)),
    Column("default_ad_site", String(255)),
    *_times(),
)

share_network_security_services = Table(
    "share_network_security_services",
    metadata,
    Column("share_network_id", String(36), ForeignKey("share_networks.id", ondelete="CASCADE"), primary_key=True),
    # No cascade: a security service linked to a network cannot be deleted (403).
    Column("security_service_id", String(36), ForeignKey("security_services.id"), primary_key=True, index=True),
    Column("created_at", DateTime, nullable=False),
)

# Snapshots: export locations (2.32) and metadata (2.73).
snapshot_export_locations = Table(
    "snapshot_export_locations",
    metadata,
    _id(),
    Column("snapshot_id", String(36), ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("path", String(2000), nullable=False),
    Column("is_admin_only", Boolean, nullable=False, default=False),
    *_times(),
)

# Where clients mount a cgsnapshot member read-only (Lockstep's extension of 2.32's snapshot locations).
cgsnapshot_member_export_locations = Table(
    "cgsnapshot_member_export_locations",
    metadata,
    _id(),
    Column("member_id", String(36), ForeignKey("cgsnapshot_members.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("path", String(2000), nullable=False),
    Column("is_admin_only", Boolean, nullable=False, default=False),
    *_times(),
)

# Access rules of a snapshot or of a cgsnapshot member (2.32): always read-only. `target_kind` says
# which record `target_id` names (no foreign key: it is one or the other); they go with it.
snapshot_access_rules = Table(
    "snapshot_access_rules",
    metadata,
    _id(),
    Column("target_id", String(36), nullable=False, index=True),
    Column("target_kind", String(32), nullable=False),
    Column("access_type", String(32), nullable=False),
    Column("access_to", String(255), nullable=False),
    Column("state", String(32), nullable=False),
    *_times(),
)

snapshot_metadata = Table(
    "snapshot_metadata",
    metadata,
    Column("snapshot_id", String(36), ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", String(1023), nullable=False),
)

# Quota limits set by an admin; usage is counted from the records (adapters/db/quotas.py). A level
# that does not apply is '' (not NULL), so that the primary key can hold it.
quotas = Table(
    "quotas",
    metadata,
    Column("project_id", String(255), primary_key=True),
    Column("user_id", String(255), primary_key=True, default=""),
    Column("share_type_id", String(36), primary_key=True, default=""),
    Column("resource", String(64), primary_key=True),
    Column("hard_limit", Integer, nullable=False),
    *_times(),
)

messages = Table(
    "messages",
    metadata,
    _id(),
    Column("project_id", String(255), nullable=False),
    Column("request_id", String(255)),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(36), nullable=False),
    Column("action_id", String(10), nullable=False),
    Column("detail_id", String(10), nullable=False),
    Column("message_level", String(32), nullable=False),
    Column("user_message", Text, nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=False, index=True),
    Index("ix_messages_project_created", "project_id", "created_at", "id"),
    Index("ix_messages_created", "created_at", "id"),
)

# Lockstep's processes as Manila's /services lists them; workers write the heartbeats.
services = Table(
    "services",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("host", String(255), nullable=False),
    Column("binary", String(255), nullable=False),
    Column("availability_zone", String(255), nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("disabled_reason", String(255)),
    Column("stopped", Boolean, nullable=False, default=False),
    Column("report_count", Integer, nullable=False, default=0),
    *_times(),
    UniqueConstraint("host", "binary"),
)

# NFS export ids: allocated once per share (or snapshot) and never reused, so that a client's file
# handles, which carry the id, never point at another share. Rows are never deleted; SQLite's
# AUTOINCREMENT and PostgreSQL's sequence never hand out an id twice.
nfs_exports = Table(
    "nfs_exports",
    metadata,
    Column("export_id", Integer, primary_key=True, autoincrement=True),
    Column("target_id", String(36), nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("target_id"),
    sqlite_autoincrement=True,
)
