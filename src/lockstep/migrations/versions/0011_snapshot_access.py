"""snapshot_access: mountable snapshots (2.32): snapshot access rules, cgsnapshot member export
locations, shares.mount_snapshot_support

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mount_snapshot_support', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    op.create_table('snapshot_access_rules',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('target_id', sa.String(length=36), nullable=False),
    sa.Column('target_kind', sa.String(length=32), nullable=False),
    sa.Column('access_type', sa.String(length=32), nullable=False),
    sa.Column('access_to', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_snapshot_access_rules')),
    )
    with op.batch_alter_table('snapshot_access_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_snapshot_access_rules_target_id'), ['target_id'], unique=False)

    op.create_table('cgsnapshot_member_export_locations',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('member_id', sa.String(length=36), nullable=False),
    sa.Column('path', sa.String(length=2000), nullable=False),
    sa.Column('is_admin_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['cgsnapshot_members.id'],
                            name=op.f('fk_cgsnapshot_member_export_locations_member_id_cgsnapshot_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cgsnapshot_member_export_locations')),
    )
    with op.batch_alter_table('cgsnapshot_member_export_locations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cgsnapshot_member_export_locations_member_id'), ['member_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cgsnapshot_member_export_locations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cgsnapshot_member_export_locations_member_id'))
    op.drop_table('cgsnapshot_member_export_locations')
    with op.batch_alter_table('snapshot_access_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_snapshot_access_rules_target_id'))
    op.drop_table('snapshot_access_rules')
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_column('mount_snapshot_support')
