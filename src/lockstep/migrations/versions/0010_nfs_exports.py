"""nfs_exports: NFS export ids, allocated once per share and never reused

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nfs_exports',
    sa.Column('export_id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('target_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('export_id', name=op.f('pk_nfs_exports')),
    sa.UniqueConstraint('target_id', name=op.f('uq_nfs_exports_target_id')),
    sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table('nfs_exports')
