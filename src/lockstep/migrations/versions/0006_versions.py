"""versions: what the microversions 2.31-2.99 add to shares and share types

Revision ID: 0006_versions
Revises: 0002

share_types.description (2.41); shares.progress (2.54), is_soft_deleted and
scheduled_to_be_deleted_at (2.69, the recycle bin), snapshot_inherit_share_access_support (2.99)
and scheduler_hints (2.65/2.67, read when the share is placed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006_versions'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('share_types', schema=None) as batch_op:
        batch_op.add_column(sa.Column('description', sa.String(length=255), nullable=True))

    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.add_column(sa.Column('progress', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('is_soft_deleted', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('scheduled_to_be_deleted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('snapshot_inherit_share_access_support', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('scheduler_hints', sa.Text(), nullable=True))
    # Shares that were created already show 100% (those in `error` most likely failed to be created).
    op.execute("UPDATE shares SET progress = '100%' WHERE status NOT IN ('creating', 'error')")


def downgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_column('scheduler_hints')
        batch_op.drop_column('snapshot_inherit_share_access_support')
        batch_op.drop_column('scheduled_to_be_deleted_at')
        batch_op.drop_column('is_soft_deleted')
        batch_op.drop_column('progress')

    with op.batch_alter_table('share_types', schema=None) as batch_op:
        batch_op.drop_column('description')
